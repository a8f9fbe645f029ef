/// The arithmetic of derived sweep values, e.g. `derive: {microbatches: "15360 / dp"}`.
///
/// Grammar: numbers (`1e3`, `4_096`), names (key paths like `parallel.pp`, or built-ins the
/// caller provides), `+ - * /`, `//` (floor division), `%`, parentheses, unary minus and the
/// functions `min(a, b)`, `max(a, b)`, `floor(x)`, `ceil(x)`, `round(x)`.
public struct Expression: Sendable, Equatable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var problem: String
        public var description: String { problem }
    }

    /// Evaluates with `lookup` for names (nil: unknown name).
    public func evaluate(_ lookup: (String) throws -> Double?) throws -> Double {
        let tokens = try Self.tokenize(text)
        let value: Double = try withoutActuallyEscaping(lookup) { lookup in
            var parser = Parser(tokens: tokens, lookup: lookup, text: text)
            let value = try parser.sum()
            guard parser.position == parser.tokens.count else { throw Failure(problem: "unexpected '\(parser.tokens[parser.position])' in '\(text)'") }
            return value
        }
        guard value.isFinite else { throw Failure(problem: "'\(text)' is not a finite number (division by zero?)") }
        return value
    }

    /// The names an expression uses (for error messages and dependency checks).
    public func names() throws -> [String] {
        try Self.tokenize(text).compactMap { if case .name(let n) = $0 { return n } else { return nil } }
    }

    enum Token: Equatable, CustomStringConvertible {
        case number(Double), name(String), op(String), open, close, comma
        var description: String {
            switch self {
            case .number(let d): return "\(d)"
            case .name(let n): return n
            case .op(let o): return o
            case .open: return "("
            case .close: return ")"
            case .comma: return ","
            }
        }
    }

    static func tokenize(_ text: String) throws -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            if c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                var j = i
                while j < chars.count, chars[j].isNumber || chars[j] == "." || chars[j] == "_" ||
                        ((chars[j] == "e" || chars[j] == "E") && j + 1 < chars.count && (chars[j + 1].isNumber || chars[j + 1] == "-" || chars[j + 1] == "+")) ||
                        ((chars[j] == "-" || chars[j] == "+") && (chars[j - 1] == "e" || chars[j - 1] == "E")) {
                    j += 1
                }
                let s = String(chars[i..<j]).replacingOccurrences(of: "_", with: "")
                guard let d = Double(s) else { throw Failure(problem: "malformed number '\(s)' in '\(text)'") }
                tokens.append(.number(d)); i = j; continue
            }
            if c.isLetter || c == "_" {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || "_.[]".contains(chars[j]) { j += 1 }
                tokens.append(.name(String(chars[i..<j]))); i = j; continue
            }
            switch c {
            case "(": tokens.append(.open)
            case ")": tokens.append(.close)
            case ",": tokens.append(.comma)
            case "/" where i + 1 < chars.count && chars[i + 1] == "/": tokens.append(.op("//")); i += 1
            case "+", "-", "*", "/", "%": tokens.append(.op(String(c)))
            default: throw Failure(problem: "unexpected character '\(c)' in '\(text)'")
            }
            i += 1
        }
        return tokens
    }

    struct Parser {
        let tokens: [Token]
        let lookup: (String) throws -> Double?
        let text: String
        var position = 0

        init(tokens: [Token], lookup: @escaping (String) throws -> Double?, text: String) {
            self.tokens = tokens; self.lookup = lookup; self.text = text
        }

        var next: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func sum() throws -> Double {
            var value = try product()
            while case .op(let o)? = next, o == "+" || o == "-" {
                position += 1
                let rhs = try product()
                value = o == "+" ? value + rhs : value - rhs
            }
            return value
        }

        mutating func product() throws -> Double {
            var value = try unary()
            while case .op(let o)? = next, ["*", "/", "//", "%"].contains(o) {
                position += 1
                let rhs = try unary()
                switch o {
                case "*": value *= rhs
                case "/": value /= rhs
                case "//": value = (value / rhs).rounded(.down)
                default: value = value.truncatingRemainder(dividingBy: rhs)
                }
            }
            return value
        }

        mutating func unary() throws -> Double {
            if case .op("-")? = next { position += 1; return -(try unary()) }
            return try primary()
        }

        mutating func primary() throws -> Double {
            guard let token = next else { throw Failure(problem: "'\(text)' ends too early") }
            position += 1
            switch token {
            case .number(let d): return d
            case .open:
                let v = try sum()
                guard next == .close else { throw Failure(problem: "missing ')' in '\(text)'") }
                position += 1
                return v
            case .name(let name):
                if next == .open {
                    position += 1
                    var args = [try sum()]
                    while next == .comma { position += 1; args.append(try sum()) }
                    guard next == .close else { throw Failure(problem: "missing ')' after the arguments of \(name) in '\(text)'") }
                    position += 1
                    return try call(name, args)
                }
                guard let v = try lookup(name) else {
                    throw Failure(problem: "unknown name '\(name)' in '\(text)'")
                }
                return v
            default:
                throw Failure(problem: "unexpected '\(token)' in '\(text)'")
            }
        }

        func call(_ name: String, _ args: [Double]) throws -> Double {
            switch (name, args.count) {
            case ("min", 2...): return args.min()!
            case ("max", 2...): return args.max()!
            case ("floor", 1): return args[0].rounded(.down)
            case ("ceil", 1): return args[0].rounded(.up)
            case ("round", 1): return args[0].rounded()
            default: throw Failure(problem: "unknown function \(name) with \(args.count) argument(s) in '\(text)' (min, max, floor, ceil, round)")
            }
        }
    }
}
