import Foundation
import Schedules
import Stochastic

/// Identical pipeline instructions do not take identical time. Kernels vary from run to run
/// (clocks under the power limit, memory and L2 state, the other stream's interference), and
/// under real routing each micro-batch loads its EP group's GPUs differently. In a pipeline the
/// ranks wait for each other's activations and gradients (under batched sends, at every
/// instruction boundary), so variation that the schedule cannot absorb turns into bubble: the
/// mean of a maximum exceeds the maximum of the means.
///
/// Model: each instruction of each rank (as the rank's group runs it: the EP group of its
/// stage, its TP group) takes its simulated duration times an independent factor, lognormal
/// with mean 1 and coefficient of variation `cv`, drawn from the experiment's seed (one stream
/// per synchronisation group, draws in program order, so the same seed gives the same step).
/// Communication, sends and the optimizer keep their times.
///
/// What DeepSeek's trace shows (`../shared/data/deepseek-profile-train.json`, H800, EP64,
/// balanced routing): the period of a (forward layer, backward layer) pair, measured between
/// successive starts of the same kernel on the compute stream, is 31.46, 31.33, 32.45 ms
/// (FlashAttention forward), 30.93, 32.38, 32.75 ms (FlashAttention backward) and 31.51,
/// 32.56, 34.01 ms (the forward dispatch): a coefficient of variation of 2.9% per layer pair,
/// so about 1.5% for a 4-layer chunk pair if layers vary independently (`python3
/// docs/checks/trace_layer_periods.py ../shared/data/deepseek-profile-train.json`). Three
/// periods per anchor make this a rough figure, and the trace's balanced routing leaves out the
/// micro-batch-to-micro-batch imbalance of real routing; hence llmsim's default is no jitter
/// and `instruction_jitter_percent` asks what a given variation costs.
public struct InstructionJitter: Sendable, Equatable {
    /// The largest coefficient of variation accepted: 50% (a slow instruction then takes up to
    /// about 3× its mean at 3σ; beyond that the variation is not jitter but a fault).
    public static let maxCV = 0.5
    /// Coefficient of variation of an instruction's duration (fraction, > 0).
    public let cv: Double
    public let seed: UInt64

    public init(cv: Double, seed: UInt64) { self.cv = cv; self.seed = seed }

    /// A jitter within 0 ≤ cv < `maxCV` (0: none), or an error that asks for percent in range
    /// (the experiment key's and `llmsim schedule --jitter`'s rule).
    public static func check(cv: Double) throws {
        try StepConfiguration.checkVariation(cv, below: maxCV, named: "an instruction jitter", of: "an instruction's duration", example: "1.5")
    }

    /// Per rank and instruction of `schedule`, the factor its duration is multiplied by, for
    /// synchronisation group `group` (each group draws its own).
    public func scales(for schedule: PipelineSchedule, group: Int) throws -> [[Double]] {
        let stream = RandomStream(seed: RandomStream.derive(seed: seed, label: "instruction-jitter", index: group))
        // exp(N(μ, σ)) has mean exp(μ + σ²/2) and CV √(exp(σ²) − 1): σ² = ln(1 + cv²), μ = −σ²/2.
        let variance = log(1 + cv * cv)
        return try schedule.program.map { list in
            try list.map { _ in try stream.lognormal(mu: -variance / 2, sigma: variance.squareRoot()) }
        }
    }
}
