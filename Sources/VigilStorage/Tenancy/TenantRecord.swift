/// A tenant as the catalog lists it: its database, its three roles and its host names.
public struct TenantRecord: Sendable, Equatable {
    public let slug: String
    public let databaseName: String
    public let owner: DatabaseRole
    public let application: DatabaseRole
    public let sequencer: DatabaseRole
    public var hosts: [String]

    public init(slug: String, databaseName: String, owner: DatabaseRole, application: DatabaseRole, sequencer: DatabaseRole, hosts: [String]) {
        self.slug = slug
        self.databaseName = databaseName
        self.owner = owner
        self.application = application
        self.sequencer = sequencer
        self.hosts = hosts
    }
}
