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
        var candidates: [String] = []
        if let home = ProcessInfo.processInfo.environment["LLMSIM_HOME"] { candidates.append(home) }
        var dir = fm.currentDirectoryPath
        for _ in 0..<6 { candidates.append(dir); dir = (dir as NSString).deletingLastPathComponent }
        var exe = (CommandLine.arguments[0] as NSString).resolvingSymlinksInPath
        for _ in 0..<6 { exe = (exe as NSString).deletingLastPathComponent; candidates.append(exe) }
        for base in candidates {
            let path = (base as NSString).appendingPathComponent(relative)
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return path }
        }
        throw ConfigError(problem: "cannot find the folder '\(relative)'",
                          fix: "run llmsim from the llmsim checkout, or set LLMSIM_HOME to it")
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
