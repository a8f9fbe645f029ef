/// A kernel called with arguments it cannot honour (a shape that is not a multiple of the tile,
/// more GPUs than experts, an unknown skew law…). The message names the argument and the fix.
public struct KernelError: Error, CustomStringConvertible, Equatable, Sendable {
    public var argument: String
    public var problem: String
    public var fix: String

    public init(_ argument: String, _ problem: String, fix: String) {
        self.argument = argument
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(argument): \(problem) — \(fix)" }
}
