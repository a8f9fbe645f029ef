import Foundation
import Yams

extension ConfigValue {
    /// Every existing file a text value in this tree names, resolved against the folder of the
    /// file the value was written in, each once, in document order. A value names a file when it
    /// is a path (`topology: ../Topologies/x.yaml`, `model: ./config.json`, a calibration file)
    /// or a `KIND:PATH` reference (`skew: histogram:loads.json`). Values that name no file are
    /// skipped, so a catalog name such as `deepseek-v3` counts only if a file of that name sits
    /// beside the experiment — which makes a hash over the files stricter, never wrong.
    public func namedFiles() -> [String] {
        var found: [String] = [], seen = Set<String>()
        collectNamedFiles(into: &found, seen: &seen)
        return found
    }

    private func collectNamedFiles(into found: inout [String], seen: inout Set<String>) {
        switch node {
        case .scalar(let scalar):
            let text = scalar.string
            var candidates = [text]
            if let colon = text.firstIndex(of: ":") { candidates.append(String(text[text.index(after: colon)...])) }
            for candidate in candidates where !candidate.isEmpty {
                let path = resolvePath(candidate)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                if seen.insert(path).inserted { found.append(path) }
            }
        case .mapping:
            for key in (try? keys()) ?? [] { (try? optional(key))??.collectNamedFiles(into: &found, seen: &seen) }
        case .sequence:
            for element in (try? elements()) ?? [] { element.collectNamedFiles(into: &found, seen: &seen) }
        default:
            break
        }
    }
}
