public import ArgumentParser
import Foundation
import VigilCore
import VigilStorage
public import VigilHTTP

/// `vigil audit verify`: recomputes each tenant's hash chain from its entries.
public struct AuditCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the audit trail.",
        subcommands: [Verify.self]
    )

    public init() {}

    public struct Verify: DomainCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Recompute each tenant's hash chain from its entries (docs/audit-format.md).",
            discussion: """
                Prints one line per tenant. Exit status: 0 every chain intact; 1 a chain differs (the line names \
                the first entry that differs, by id and chain_seq); 2 intact, but entries have waited unsequenced \
                for more than 5 s (is a server's sequencer running?); 3 verification could not run.
                """
        )

        @OptionGroup public var common: CommonOptions
        @Option(help: "Verify only this tenant.") var tenant: String?

        public init() {}

        public func run(in environment: any CommandEnvironment) async throws {
            let results: [(tenant: String, result: ChainVerification)]
            do {
                results = try await environment.forEachTenantAsOwner(tenant) { _, client in
                    try await ChainVerifier().verify(on: DatabasePool(postgres: client), logger: environment.logger)
                }
            } catch {
                FileHandle.standardError.write(Data("vigil: \(operatorDescription(of: error))\n".utf8))
                throw ExitCode(3)
            }
            if results.isEmpty { print("no tenants") }
            for (slug, result) in results { print("tenant \(slug): \(result.summary)") }
            // A broken chain outranks a lagging one: 1 if any tenant's chain differs, else 2 if any lags.
            let codes = Set(results.map(\.result.exitCode))
            if codes.contains(1) { throw ExitCode(1) }
            if codes.contains(2) { throw ExitCode(2) }
        }
    }
}
