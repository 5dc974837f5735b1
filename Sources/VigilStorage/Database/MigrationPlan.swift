/// Why a set of migrations cannot be put in one order (a build mistake, found before any database
/// is touched).
public enum MigrationPlanError: Error, CustomStringConvertible, Sendable, Equatable {
    case unnumbered(id: String)
    case duplicateSequence(sequence: Int, first: String, second: String)
    case previousIDsForMissingFile(id: String)

    public var description: String {
        switch self {
        case .unnumbered(let id):
            return """
                Migration \(id) has no sequence number: a migration's file name starts with a 4-digit number, \
                global across all domains, and an underscore (0003_chain.sql).
                """
        case .duplicateSequence(let sequence, let first, let second):
            return """
                Migrations \(first) and \(second) share sequence number \(Self.padded(sequence)): tenant migrations of all \
                domains form one sequence, so give the newer one the next free number.
                """
        case .previousIDsForMissingFile(let id):
            return "Previous ids are given for migration \(id), but there is no such file."
        }
    }

    /// `0003`, as the file names write it.
    private static func padded(_ sequence: Int) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// The order tenant migrations run in: every domain's migrations merged by their global sequence
/// number, so a migration may rely on any domain's tables of a lower number on a fresh database.
public enum MigrationPlan {
    /// All migrations of `domains`, by sequence. Throws `MigrationPlanError.duplicateSequence`
    /// naming the first two migrations (in the order given) that share a number.
    public static func ordered(_ domains: [[Migration]]) throws -> [Migration] {
        var idsBySequence: [Int: String] = [:]
        for migration in domains.joined() {
            if let earlier = idsBySequence[migration.sequence] {
                throw MigrationPlanError.duplicateSequence(sequence: migration.sequence, first: earlier, second: migration.id)
            }
            idsBySequence[migration.sequence] = migration.id
        }
        // Sequences are unique past this point, so the order is total.
        return domains.joined().sorted { $0.sequence < $1.sequence }
    }
}
