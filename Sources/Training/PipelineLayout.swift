import Schedules

/// A hand-written placement of the model's pieces on the pipeline stages, in Megatron-Core's
/// notation (`--pipeline-model-parallel-layout`, `PipelineParallelLayerLayout` in
/// `megatron/core/transformer/pipeline_parallel_layer_layout.py`, and its guide
/// `docs/user-guide/features/pipeline_parallel_layout.md`): one letter per piece — `E` the
/// embedding, `t` a transformer layer, `m` a multi-token-prediction module, `L` the final norm,
/// output head and loss —, `|` between stages, `x*n` and `(…)*n` repeating, commas ignored.
/// Stages are listed in model order; with v virtual stages stage k runs on rank k mod PP as its
/// chunk k / PP (Megatron's `layout[vpp_rank * pp + pp_rank]`, llmsim's interleaved generator).
///
/// Why: the balance llmsim computes puts at least one layer on every stage, while Megatron-Bridge's
/// DeepSeek-V3 recipes give the last chunk only the MTP module and the loss (PP 8 × 4 chunks:
/// `Et|(tt|)*30mL`). A stage may hold no transformer layer.
///
/// llmsim runs the embedding on the first stage and the MTP modules with the head on the last
/// (`StagePass`), so a layout must put `E` first on stage 0 and end with `m…L` on the last stage.
public struct PipelineLayout: Sendable, Equatable {
    /// One piece of the model, by its letter in Megatron's notation.
    public enum Piece: Character, Sendable {
        case embedding = "E", transformer = "t", mtp = "m", loss = "L"
    }

    /// The text as written.
    public let text: String
    /// The pieces of each stage, in model order.
    public let stages: [[Piece]]

    /// The most pieces and separators a layout may unroll to (a bound on bad input such as
    /// `(t*1000)*1000000`; far beyond a real model's few hundred layers).
    public static let maxUnrolledLength = 100_000
    /// The deepest nesting of `(…)` groups (a bound on bad input that would exhaust the stack;
    /// Megatron's own reader unrolls one level).
    public static let maxNesting = 32

    /// Parses Megatron's notation; throws naming the character or repetition at fault.
    public init(parsing text: String) throws {
        self.text = text
        var parser = Parser(characters: Array(text))
        let unrolled = try parser.sequence(depth: 0)
        if parser.position < parser.characters.count {
            throw parser.error("unmatched ')' at character \(parser.position + 1)")
        }
        stages = unrolled.split(separator: "|", omittingEmptySubsequences: false).map { $0.map { Piece(rawValue: $0)! } }
    }

    /// Transformer layers per stage: the partition the step runs.
    public var stageLayers: [Int] { stages.map { $0.filter { $0 == .transformer }.count } }

    /// Checks the layout against a plan of `stageCount` stages and a model of `layers`
    /// transformer layers and `mtpDepth` MTP modules.
    public func check(stageCount: Int, stagesDescription: String, layers: Int, mtpDepth: Int) throws {
        func fail(_ problem: String, _ fix: String) -> ScheduleError {
            ScheduleError(problem: "pipeline_layout \"\(text)\": " + problem, fix: fix)
        }
        guard stages.count == stageCount else {
            throw fail("\(stages.count) stages, but \(stagesDescription) runs \(stageCount)",
                       "write \(stageCount) stages separated by '|' (e.g. \"Et|(tt|)*30mL\" is 32), or change the pipeline")
        }
        let counts = stages.joined().reduce(into: [Piece: Int]()) { $0[$1, default: 0] += 1 }
        let count = { (piece: Piece) in counts[piece] ?? 0 }
        guard count(.transformer) == layers else {
            throw fail("\(count(.transformer)) transformer layers ('t'), but the model has \(layers)", "place exactly \(layers) 't'")
        }
        guard count(.embedding) == 1, stages[0].first == .embedding else {
            throw fail("the embedding ('E') must appear once, first on the first stage", "start the layout with E (e.g. \"Et*4|…\")")
        }
        guard count(.loss) == 1, stages[stages.count - 1].last == .loss else {
            throw fail("the loss ('L') must appear once, last on the last stage", "end the layout with L (e.g. \"…|tmL\")")
        }
        guard count(.mtp) == mtpDepth else {
            throw fail(mtpDepth == 0 ? "the model has no multi-token-prediction modules, but the layout places \(count(.mtp)) ('m')"
                                     : "\(count(.mtp)) MTP modules ('m'), but the model has \(mtpDepth)",
                       mtpDepth == 0 ? "remove the m" : "place \(mtpDepth) m just before the final L")
        }
        // The last stage: its transformer layers, then the MTP modules, then the loss.
        let last = stages[stages.count - 1].dropLast()
        guard last.drop(while: { $0 == .transformer }).allSatisfy({ $0 == .mtp }), count(.mtp) == last.filter({ $0 == .mtp }).count else {
            throw fail("llmsim runs the MTP modules on the last stage, after its transformer layers and before the loss",
                       "put every m just before the final L (Megatron-Bridge's DeepSeek-V3 layouts end in \"mL\")")
        }
    }

    /// A recursive-descent reader of the notation: a sequence of items, each a letter, a '|' or a
    /// parenthesised sequence, optionally followed by `*n`. Commas (Megatron's cosmetic
    /// separators) and spaces are skipped where they stand, so positions in errors are the text's.
    struct Parser {
        let characters: [Character]
        var position = 0

        mutating func skipCosmetic() {
            while position < characters.count, characters[position] == "," || characters[position].isWhitespace { position += 1 }
        }

        func error(_ problem: String) -> ScheduleError {
            ScheduleError(problem: "pipeline_layout \"\(String(characters))\": " + problem,
                          fix: "write Megatron's notation: E (embedding), t (transformer layer), m (MTP module), L (loss), '|' between stages, x*n or (…)*n to repeat, e.g. \"Et|(tt|)*30mL\"")
        }

        mutating func sequence(depth: Int) throws -> [Character] {
            var out: [Character] = []
            skipCosmetic()
            while position < characters.count, characters[position] != ")" {
                let item: [Character]
                let c = characters[position]
                if c == "(" {
                    guard depth < PipelineLayout.maxNesting else { throw error("parentheses nested more than \(PipelineLayout.maxNesting) deep") }
                    position += 1
                    item = try sequence(depth: depth + 1)
                    guard position < characters.count else { throw error("unmatched '('") }
                    guard !item.isEmpty else { throw error("empty group '()' at character \(position + 1)") }
                    position += 1
                } else if Piece(rawValue: c) != nil || c == "|" {
                    item = [c]
                    position += 1
                } else {
                    throw error("unknown character '\(c)' at \(position + 1)")
                }
                skipCosmetic()
                var repeats = 1
                if position < characters.count, characters[position] == "*" {
                    position += 1
                    let digits = characters[position...].prefix(while: \.isNumber)
                    guard !digits.isEmpty, let n = Int(String(digits)) else { throw error("'*' must be followed by a count at \(position + 1)") }
                    position += digits.count
                    repeats = n
                    skipCosmetic()
                }
                // One bound on what the text unrolls to, checked before anything is repeated.
                let (added, overflow) = item.count.multipliedReportingOverflow(by: repeats)
                guard !overflow, out.count + added <= PipelineLayout.maxUnrolledLength else {
                    throw error("unrolls to more than \(PipelineLayout.maxUnrolledLength) pieces")
                }
                for _ in 0..<repeats { out += item }
            }
            return out
        }
    }
}
