import Audit
import Identity
public import VigilHTTP

/// The domains Vigil runs, in order: the one list a new domain is added to (decision 21).
public enum VigilDomains {
    public static let all: [Domain] = [.audit, .identity()]
}
