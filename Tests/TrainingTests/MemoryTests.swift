import Foundation
import Testing
import Hardware
import Schedules
import CostModel
@testable import Model
@testable import Training

@Suite(.serialized) struct MemoryTests {
    static let plan = Result { try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper()).plan() }

    /// Hand-checkable arithmetic: gradients are FP32 (twice the BF16 weights); the ZeRO-1
    /// optimizer state (8 B per parameter) is sharded over every replica of a parameter:
    /// DualPipe keeps two copies of each stage (ranks s and 15 − s), so 2 × 128 = 256 replicas
    /// for non-expert parameters and only 2 × DP/EP = 4 for routed experts. The peak is on
    /// rank 1 (stages 1 and 14: eight MoE layers), each holding 256 experts / EP 64 = 4
    /// experts of 3 × 7168 × 2048 parameters. Run as 1F1B (`--plain`), each stage has one
    /// copy: 128 and 2.
    @Test func staticTermsFollowTheStoredPrecisions() throws {
        let m = try TrainingMemory.compute(config: try deepSeekStep(), stageLayers: try Self.plan.get().stageLayers, deepSeekSavings: true, schedule: .dualpipe)
        let weights = m.breakdown[0].bytes, grads = m.breakdown[1].bytes, optimizer = m.breakdown[2].bytes
        #expect(abs(grads - 2 * weights) < 1)
        #expect(m.peakRank == 1)
        let experts = 8.0 * 4 * 3 * 7168 * 2048
        let dense = weights / 2 - experts
        #expect(abs(optimizer - (dense * 8 / 256 + experts * 8 / 4)) < 1)
        #expect(m.breakdown.reduce(0) { $0 + $1.bytes } == m.peakBytesPerGpu)
        let plain = try StageMemoryModel(config: try deepSeekStep(), deepSeekSavings: true, schedule: .oneFOneB)
        let oneCopy = plain.terms(rank: 1, stageLayers: try Self.plan.get().stageLayers)
        let stage1 = oneCopy[0].bytes / 2, stage1Experts = 4.0 * 4 * 3 * 7168 * 2048
        #expect(abs(oneCopy[2].bytes - ((stage1 - stage1Experts) * 8 / 128 + stage1Experts * 8 / 2)) < 1)
    }

    /// V3 report §3.2.3 / reference §1.8: the published plan is meant to fit in 80 GB without TP.
    /// Measured 2026-11-23: 81.0 GB on rank 0 (1 GB over, 6 GB of it assumed reserves), see the
    /// issue note; the plain rules (1F1B, BF16 activations, no recomputation) miss by far more.
    @Test func deepSeekSavingsMatter() throws {
        let layers = try Self.plan.get().stageLayers
        let v3 = try TrainingMemory.compute(config: try deepSeekStep(), stageLayers: layers, deepSeekSavings: true, schedule: .dualpipe)
        let plain = try TrainingMemory.compute(config: try deepSeekStep(), stageLayers: layers, deepSeekSavings: false, schedule: .oneFOneB)
        #expect(v3.peakBytesPerGpu < 85e9)
        #expect(!plain.fits)
        #expect(plain.peakBytesPerGpu > v3.peakBytesPerGpu + 50e9)
        #expect(plain.largestTerm.hasPrefix("activations"))
    }

    @Test func inventorySavingsShrinkAnMoELayer() throws {
        let arch = try deepSeekStep().model
        let saved = ActivationInventory.layer(arch, index: 10, tokens: 4096, routedRowsOnGPU: 32_768, deepSeekSavings: true).reduce(0) { $0 + $1.bytes }
        let plain = ActivationInventory.layer(arch, index: 10, tokens: 4096, routedRowsOnGPU: 32_768, deepSeekSavings: false).reduce(0) { $0 + $1.bytes }
        #expect(plain > 2 * saved)
        // The E5M6 attention-output term: 4096 tokens × 128 heads × 128 × 1.5 B.
        #expect(ActivationInventory.layer(arch, index: 10, tokens: 4096, routedRowsOnGPU: 32_768, deepSeekSavings: true)
                    .contains { $0.bytes == 4096 * 128 * 128 * 1.5 })
    }
}
