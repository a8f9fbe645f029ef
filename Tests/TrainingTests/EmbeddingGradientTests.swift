import ConfigIO
import CostModel
import Foundation
import Testing
@testable import Kernels
@testable import Model
@testable import Training

/// The embedding table's weight gradient (`optimizer.embedding_gradient`): PyTorch's dense
/// table, zero-filled and summed into every micro-batch, then added into the step's gradient;
/// or the looked-up rows alone (`sparse`).
@Suite struct EmbeddingGradientTests {
    /// The records of one stage end's forward and backward for a micro-batch of `c`.
    func endRecords(_ c: StepConfiguration, first: Bool) throws -> (sim: StepSimulation, records: [OperationRecord]) {
        let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let arch = c.layerModel
        let x = ShapeTensor(rows: c.gpuTokens, cols: arch.hiddenSize)
        let range = first ? 0..<0 : arch.layers..<arch.layers
        let records = try sim.records(traffic: try sim.allToAll().traffic) { e in
            _ = try StagePass(arch: arch, layers: range, embedding: first, head: !first, mtp: true, policy: c.precision).run(&e, tokens: c.gpuTokens, input: first ? nil : x)
        }
        return (sim, records)
    }

    /// DeepSeek-V3 by hand: the table is 129,280 × 7,168 parameters (TP 1). Each micro-batch's
    /// backward on the first stage writes the table's BF16 zeros (2 B per parameter), sums the
    /// 4,096 rows' gradients into it (2 B read, 4 + 4 B of FP32 partial sums, 2 B written per
    /// element) and adds the table into the FP32 gradient (Megatron-LM's hook: 2 + 4 + 4 B per
    /// parameter): 12 B per parameter in all, in the input backward. The MTP module's lookup
    /// does the same on the last stage. Sparse: the rows' values copied (2 + 2 B) and added
    /// row by row (2 + 4 + 4 B per element), no table-sized pass.
    @Test func deepSeekV3ByHand() throws {
        let c = try deepSeekStep()
        let table: Double = 129_280 * 7_168, rows: Double = 4_096 * 7_168
        let bytes = { (r: OperationRecord) in r.bytesRead + r.bytesWritten }
        for first in [true, false] {
            let embedding = try endRecords(c, first: first).records.filter { $0.block == .embedding && $0.pass != .forward }
            #expect(embedding.map(\.name).map { $0.split(separator: ".", maxSplits: 2).last.map(String.init) ?? "" }
                    == ["wgrad_zero", "wgrad_scatter", "table.grad_accumulate"])
            #expect(embedding.allSatisfy { $0.pass == .backwardInput })
            #expect(embedding.map(bytes) == [2 * table, 12 * rows, 10 * table])
        }
        var sparse = c
        sparse.optimizer.embeddingGradient = .sparse
        let rowsOnly = try endRecords(sparse, first: true).records.filter { $0.block == .embedding && $0.pass != .forward }
        #expect(rowsOnly.map(bytes) == [4 * rows, 10 * rows])
    }

    /// The step: the first stage's backward of a micro-batch is longer by the table's kernels
    /// (dense against sparse), and V3's step grows, its ranks 0 and 15 running two tables per
    /// micro-batch pair (the first stage's, and the MTP module's on the last stage).
    @Test func deepSeekV3StepGrowsByTheTable() throws {
        let c = try deepSeekStep()
        var sparse = c
        sparse.optimizer.embeddingGradient = .sparse
        let (sim, dense) = try endRecords(c, first: true)
        let rowsOnly = try endRecords(sparse, first: true).records
        let seconds = { (rs: [OperationRecord]) in rs.filter { $0.pass == .backwardInput }.reduce(0.0) { $0 + sim.kernels.duration($1) } }
        let perMicrobatch = seconds(dense) - seconds(rowsOnly)
        // 11.1 GB at 0.61 of the H800's 3.35 TB/s.
        #expect(perMicrobatch > 5.3e-3 && perMicrobatch < 5.8e-3, "\(perMicrobatch)")
        let withTable = try sim.run(), withoutTable = try StepSimulation(config: sparse, calibration: try KernelCalibration.hopper()).run()
        let grown = withTable.stageBackwardS[0] - withoutTable.stageBackwardS[0]
        // The host's launches of the extra kernels may show a little.
        #expect(grown > perMicrobatch * 0.999 && grown < perMicrobatch * 1.05, "\(grown) against \(perMicrobatch)")
        #expect(withTable.stepTimeS - withoutTable.stepTimeS > 0.3, "\(withTable.stepTimeS) against \(withoutTable.stepTimeS)")
    }

    /// How the table's gradient joins the step's: Megatron-LM's hook every micro-batch (2 + 2 ×
    /// the format's bytes), PyTorch's accumulation under `unfused`, nothing under `fsdp` (its
    /// reduce-scatter takes the table as it is); sparse refused under fsdp.
    @Test func accumulationByMode() throws {
        var o = OptimizerStates()
        #expect(o.embeddingGradientCost(microbatches: 16) == (.dense, 10))
        o.gradients = .bf16
        #expect(o.embeddingGradientCost(microbatches: 16) == (.dense, 6))
        o.gradientAccumulation = .unfused
        #expect(o.embeddingGradientCost(microbatches: 16) == (.dense, GradientAccumulation.unfusedBytesPerParameter(fresh: 2, accumulated: 2, microbatches: 16)))
        o.gradientAccumulation = .fused
        o.fullySharded = true
        #expect(o.embeddingGradientCost(microbatches: 16) == (.dense, 0))
        o.embeddingGradient = .sparse
        #expect(o.embeddingGradientCost(microbatches: 16) == (.sparse, 6))
        do { _ = try shippedStep("nemo-llama3-8b-h100.yaml", adding: "optimizer: {fsdp: true, embedding_gradient: sparse}"); Issue.record("accepted sparse under fsdp") }
        catch let e as ConfigError { #expect(e.description.contains("embedding_gradient") && e.description.contains("fsdp"), "\(e)") }
        do { _ = try shippedStep("deepseek-v3.yaml", adding: "optimizer: {embedding_gradient: rows}"); Issue.record("accepted an unknown kind") }
        catch let e as ConfigError { #expect(e.description.contains("dense") && e.description.contains("sparse"), "\(e)") }
        #expect(try shippedStep("deepseek-v3.yaml", adding: "optimizer: {embedding_gradient: sparse}").optimizer.embeddingGradient == .sparse)
    }

    /// Memory: the dense table (the vocabulary shard × hidden × 2 B) is allocated where the
    /// first stage's backward of a micro-batch ends, after that stage's activations of it are
    /// freed, so a rank needs only what it exceeds them by. Megatron's 1T model (TP 8, 2 layers
    /// a stage, full recomputation keeping each layer's 2,048 × 25,600 BF16 input): 6,400 ×
    /// 25,600 × 2 − 2 × 2,048 × 25,600 × 2 = 118 MB on rank 0, none on a middle rank. V3's
    /// first stage keeps about as much as its table per micro-batch (the term is under 0.1 GB).
    @Test func transientAboveWhatTheBackwardFreed() throws {
        let c = try shippedStep("megatron-1t-a100.yaml")
        let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let plan = try sim.plan()
        let model = try StageMemoryModel(config: c, deepSeekSavings: false, schedule: c.schedule)
        let name = "embedding table's dense gradient (BF16), above what its backward has freed"
        let term = { (rank: Int) in model.terms(rank: rank, stageLayers: plan.stageLayers).first { $0.kind == name }?.bytes }
        #expect(plan.stageLayers[0] == 2)
        let byHand: Double = 6_400 * 25_600 * 2 - 2 * 2_048 * 25_600 * 2
        #expect(abs(try #require(term(0)) - byHand) < 1, "\(String(describing: term(0)))")
        #expect(term(5) == 0)
        var sparse = c
        sparse.optimizer.embeddingGradient = .sparse
        let rowsOnly = try StageMemoryModel(config: sparse, deepSeekSavings: false, schedule: c.schedule)
        #expect(rowsOnly.terms(rank: 0, stageLayers: plan.stageLayers).first { $0.kind == name }?.bytes == 0)
        let v3 = try deepSeekStep(), v3Plan = try StepSimulation(config: v3, calibration: try KernelCalibration.hopper()).plan()
        let v3Model = try StageMemoryModel(config: v3, deepSeekSavings: true, schedule: v3.schedule)
        let v3Term = try #require(v3Model.terms(rank: 0, stageLayers: v3Plan.stageLayers).first { $0.kind == name }?.bytes)
        #expect(v3Term > 0 && v3Term < 0.1e9, "\(v3Term)")
    }
}
