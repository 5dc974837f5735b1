import Testing

@testable import VigilStorage

@Suite struct ClusterLayoutTests {
    @Test func theClusterLivesUnderTheDataDirectory() {
        let layout = ClusterLayout(dataDirectory: "/srv/vigil", relocated: false)
        #expect(layout.clusterDirectory == "/srv/vigil/pg")
        #expect(layout.socketPath == "/srv/vigil/run/.s.PGSQL.5432")
        #expect(layout.logFile == "/srv/vigil/log/postgres.log")
        #expect(!layout.isRelocated)
    }

    /// The relocated root is the first 16 hex digits of SHA-256("/tmp/tmp.abc/vigil/.vigil"),
    /// computed independently with `printf %s /tmp/tmp.abc/vigil/.vigil | sha256sum`.
    @Test func aRelocatedClusterLivesUnderVarLibVigilByPathHash() {
        let layout = ClusterLayout(dataDirectory: "/tmp/tmp.abc/vigil/.vigil", relocated: true)
        #expect(layout.clusterRoot == "/var/lib/vigil/6d10a037f5ece969")
        #expect(layout.clusterDirectory == "/var/lib/vigil/6d10a037f5ece969/pg")
        #expect(layout.isRelocated)
    }

    @Test func relativePathsBecomeAbsolute() {
        #expect(ClusterLayout.absolutePath("/a/b/../c/./d") == "/a/c/d")
        #expect(ClusterLayout.absolutePath("x").hasPrefix("/"))
    }
}
