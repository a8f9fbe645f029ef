import ArgumentParser
import ConfigIO
import Experiments
import Foundation

/// Shared output helpers: deterministic JSON (sorted keys, snake_case), and error reporting
/// that turns input problems into one clear line and a non-zero exit.
enum Output {
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .throw
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Runs `body`; a `ConfigError` or other input error is printed to stderr as
    /// `error: …` and the process exits with status 2.
    static func reportingErrors(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// For `table`: no column right-aligned (label/value tables whose values are text).
    static let allLeftAligned = Int.max

    /// A fixed-width text table for human output; columns from `firstNumeric` on are right-aligned.
    static func table(_ rows: [[String]], rightAlignedFrom firstNumeric: Int = 1) -> String {
        TextTable.render(rows, rightAlignedFrom: firstNumeric)
    }

    /// `1234567` → `"1,234,567"`.
    static func grouped(_ n: Int) -> String { TextTable.grouped(String(n)) }

    static func fixed(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

    /// The shortest plain form of a parameter the user gave: `1`, `0.5`, `1e+06`.
    static func general(_ x: Double) -> String { String(format: "%g", x) }

    /// A token count with its unit: trillions ("14.800T") from 10^12, else billions ("62.9B"),
    /// else millions ("5.2M"), so that a small phase does not read "0.000T".
    static func tokens(_ n: Double) -> String {
        if n >= 1e12 { return fixed(n / 1e12, 3) + "T" }
        if n >= 1e9 { return fixed(n / 1e9, 1) + "B" }
        return fixed(n / 1e6, 1) + "M"
    }
}

