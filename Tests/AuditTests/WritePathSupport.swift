import Foundation
import Logging
import PostgresNIO
import VigilCore
import VigilStorage
import VigilTesting

/// A table of the tests' own, standing in for a domain table a service changes.
enum Widgets {
    static func create(in fixture: TenantFixture) async throws {
        try await fixture.owner { owner in
            try await owner.query(
                "CREATE TABLE widgets (id uuid PRIMARY KEY, name text NOT NULL, counter integer NOT NULL DEFAULT 0)",
                logger: fixture.logger
            )
            try await owner.query("GRANT SELECT, INSERT, UPDATE, DELETE ON widgets TO vigil_application", logger: fixture.logger)
        }
    }

    /// Inserts a widget through the unit of work: the change, its entry and its event.
    @discardableResult
    static func add(_ name: String, in tenant: TenantDatabase, context: WriteContext = .system("test"), logger: Logger) async throws -> UUID {
        try await tenant.write(context, logger: logger) { unit in
            let id = UUID()
            try await unit.connection.query("INSERT INTO widgets (id, name) VALUES (\(id), \(name))", logger: logger)
            try await unit.record(AuditRecord(action: "widget.created", entityType: "widget", entityID: id.uuidString, after: ["status": "new"]))
            try await unit.emit(OutboxEvent(aggregateType: "widget", aggregateID: id.uuidString, type: "widget.created", payload: ["widget_id": .identifier(id)]))
            return id
        }
    }
}

/// A domain error of the tests' own, to check it crosses the unit of work with its type.
struct WidgetRefused: Error, Equatable {
    let reason: String
}

/// A refusal that must be recorded: it moves a counter and leaves an entry and an event.
struct LockedOut: RecordedRefusal {
    let widget: UUID
    static let problem = Problem(status: .forbidden, slug: "widget-locked", title: "The widget is locked")

    func record(in unit: inout UnitOfWork) async throws -> Problem {
        try await unit.connection.query("UPDATE widgets SET counter = counter + 1 WHERE id = \(widget)", logger: unit.logger)
        try await unit.record(AuditRecord(action: "widget.locked", entityType: "widget", entityID: widget.uuidString, reasonCode: "too_many_attempts"))
        try await unit.emit(OutboxEvent(aggregateType: "widget", aggregateID: widget.uuidString, type: "widget.locked", payload: ["widget_id": .identifier(widget)]))
        return Self.problem
    }
}

extension DatabaseClient {
    /// The SQLSTATE of the error `sql` raises, or nil when it succeeds.
    func sqlState(of sql: String, logger: Logger) async -> String? {
        do {
            try await withConnection { try await $0.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.sqlState] ?? "unknown"
        } catch {
            return "unknown"
        }
    }
}
