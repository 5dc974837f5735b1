import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Runs PostgreSQL's command-line tools, as the cluster's owner when that is another user.
///
/// `swift-subprocess` rather than `Foundation.Process`: the latter waits on a pipe that the
/// postmaster daemon inherits, so `pg_ctl start` never returns (STACK-NOTES).
struct ProcessRunner: Sendable {
    struct Outcome: Sendable {
        let succeeded: Bool
        let exitCode: Int32?
        let output: String
    }

    let user: SystemUser

    func run(_ executable: String, _ arguments: [String]) async throws -> Outcome {
        var options = PlatformOptions()
        if !user.isCurrentUser {
            options.userID = user.userID
            options.groupID = user.groupID
            options.supplementaryGroups = [user.groupID]
        }
        let result = try await Subprocess.run(
            .path(FilePath(executable)),
            arguments: Arguments(arguments),
            environment: .inherit.updating(["LC_ALL": "C", "PGTZ": "UTC"]),
            workingDirectory: FilePath("/"),
            platformOptions: options,
            output: .string(limit: 1 << 20),
            error: .string(limit: 1 << 20)
        )
        let exitCode: Int32?
        if case .exited(let code) = result.terminationStatus { exitCode = code } else { exitCode = nil }
        let output = [result.standardOutput, result.standardError].compactMap { $0 }.joined(separator: "\n")
        return Outcome(succeeded: result.terminationStatus.isSuccess, exitCode: exitCode, output: output)
    }
}
