import ConfigIO
import Foundation
import Hardware
import Model
import Training

/// Finds llmsim's data folders (`Experiments/models`, `Topologies`) for commands that take a
/// name rather than a path: `$LLMSIM_HOME` first, then the current directory and its parents,
/// then the folders above the executable (it lives in `.build/<config>/` inside the checkout).
enum ResourceLocator {
    static func directory(_ relative: String) throws -> String {
        let fm = FileManager.default
        let candidates = searchPaths(home: ProcessInfo.processInfo.environment["LLMSIM_HOME"],
                                     currentDirectory: fm.currentDirectoryPath, executable: CommandLine.arguments[0])
        for base in candidates {
            let path = (base as NSString).appendingPathComponent(relative)
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return path }
        }
        throw ConfigError(problem: "cannot find the folder '\(relative)'",
                          fix: "run llmsim from the llmsim checkout, or set LLMSIM_HOME to it")
    }

    /// Where to look, in order: `home`, the current directory and up to five of its parents, and
    /// up to six folders above the executable. Paths are made absolute first (an executable
    /// given as `./.build/release/llmsim` otherwise runs out of components, and Foundation traps
    /// on the parent of an empty path) and the climb stops at the root.
    static func searchPaths(home: String?, currentDirectory: String, executable: String) -> [String] {
        let cwd = URL(fileURLWithPath: currentDirectory, isDirectory: true)
        func ancestors(of url: URL, count: Int) -> [String] {
            var out: [String] = [], dir = url.standardizedFileURL
            for _ in 0..<count {
                out.append(dir.path)
                guard dir.path != "/" else { break }
                dir = dir.deletingLastPathComponent().standardizedFileURL
            }
            return out
        }
        let exe = URL(fileURLWithPath: executable, relativeTo: cwd).absoluteURL.resolvingSymlinksInPath()
        return (home.map { [$0] } ?? []) + ancestors(of: cwd, count: 6) + ancestors(of: exe.deletingLastPathComponent(), count: 6)
    }

    /// The shipped model catalog (`Experiments/models`).
    static func models() throws -> ModelCatalog {
        try ModelCatalog.load(directory: try directory("Experiments/models"))
    }

    /// The path of a shipped experiment file (`Experiments/NAME`).
    static func shippedExperiment(_ name: String) throws -> String {
        (try directory("Experiments") as NSString).appendingPathComponent(name)
    }

    /// The step configuration of an experiment file, resolved against the shipped catalogs.
    static func experiment(_ path: String) throws -> StepConfiguration {
        try StepExperiment.load(path: path, models: try models(), hardware: try HardwareCatalog.builtIn())
    }
}
