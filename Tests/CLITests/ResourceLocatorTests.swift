import Testing
@testable import LLMSimCLI

@Suite struct ResourceLocatorTests {
    /// `./.build/release/llmsim` run from the checkout used to crash (Foundation traps on the
    /// parent of an empty path once a relative executable path ran out of components): the
    /// executable's folders are now climbed as absolute paths, stopping at the root.
    @Test func relativeExecutableIsClimbedAsAnAbsolutePath() {
        // A checkout that does not exist, so no symbolic link on this machine resolves.
        let paths = ResourceLocator.searchPaths(home: nil, currentDirectory: "/no-such-dir/llmsim", executable: "./.build/release/llmsim")
        #expect(paths == ["/no-such-dir/llmsim", "/no-such-dir", "/",
                          "/no-such-dir/llmsim/.build/release", "/no-such-dir/llmsim/.build", "/no-such-dir/llmsim", "/no-such-dir", "/"])
        let withHome = ResourceLocator.searchPaths(home: "/opt/llmsim", currentDirectory: "/", executable: "/no-such-dir/bin/llmsim")
        #expect(withHome == ["/opt/llmsim", "/", "/no-such-dir/bin", "/no-such-dir", "/"])
    }
}
