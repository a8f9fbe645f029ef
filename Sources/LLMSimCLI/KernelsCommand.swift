import ArgumentParser
import CostModel
import Foundation
import Kernels
import Training

/// `llmsim kernels EXPERIMENT.yaml`: one layer's kernels as the step prices them.
struct KernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "List one layer's kernels as a step prices them: shape, FLOPs, bytes, time, rate and the calibration figure behind each.")

    @Argument(help: "Experiment file, e.g. Experiments/deepseek-v3.yaml.") var experiment: String
    @Option(help: "Layer index (default: the model's representative layer, an MoE layer when it has them).") var layer: Int?
    @Flag(help: "Print JSON with stable keys.") var json = false

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        let config = try ResourceLocator.experiment(experiment)
        let simulation = try StepSimulation(config: config, calibration: try KernelCalibration.hopper())
        let layer = try simulation.layerKernels(self.layer)
        if json { return try Output.json(layer) }
        let device = config.topology.node.device
        let pinned = config.precision.layer(layer.layer, of: config.model.layers) != config.precision
        let header = "layer \(layer.layer) (\(layer.isMoE ? "MoE" : "dense")\(pinned ? ", its Linears in BF16: bf16_layers" : "")) of \(config.model.name) on \(device.name), \(config.gpuTokens) tokens per GPU, "
            + "\(layer.computeSMs) of \(device.smCount) SMs for compute\n"
            + "every operation of one micro-batch's forward and backward, in issue order, as the step prices it (rate: TFLOPS for GEMMs and attention, TB/s of HBM traffic for the rest but the MoE's bookkeeping, priced per layer or per routed row)"
        var rows: [[String]] = [["pass", "operation", "kind", "shape", "GFLOP", "MB", "time", "rate", "priced by (calibration key)"]]
        for k in layer.kernels where !k.record.kind.isCommunication {
            let r = k.record, bytes = r.bytesRead + r.bytesWritten
            let computeBound = [.gemm, .groupedGemm, .attention, .attentionBackward].contains(r.kind)
            let rate = r.bookkeeping != nil ? "—"
                : computeBound ? Output.fixed(r.flops / k.seconds / 1e12, 0) + " TFLOPS" : Output.fixed(bytes / k.seconds / 1e12, 2) + " TB/s"
            rows.append([r.pass.rawValue, Self.shortName(r) + (r.recompute ? " (recompute)" : ""), r.kind.rawValue, Self.shape(r),
                         Output.fixed(r.flops / 1e9, 1), Output.fixed(bytes / 1e6, 1), Output.fixed(k.seconds * 1e6, 1) + " µs", rate, k.figure])
        }
        let ms = { (x: Double) in Output.fixed(x * 1e3, 3) + " ms" }
        var totals = "compute per pass: forward " + ms(layer.computeSeconds(.forward)) + ", input backward " + ms(layer.computeSeconds(.backwardInput))
            + ", weight backward " + ms(layer.computeSeconds(.backwardWeight))
        if layer.isMoE { totals += "; all-to-all on the fabric: dispatch " + ms(layer.dispatchS) + ", combine " + ms(layer.combineS) + " (each, forward and backward)" }
        // Per DeepSeek overlap block, in issue order (what docs/checks/trace_block_kernels.py
        // prints for the trace).
        var blocks: [(name: String, seconds: Double)] = []
        for k in layer.kernels where !k.record.kind.isCommunication {
            let name = "\(k.record.block.rawValue)(\(k.record.pass.rawValue))"
            if let i = blocks.firstIndex(where: { $0.name == name }) { blocks[i].seconds += k.seconds } else { blocks.append((name, k.seconds)) }
        }
        totals += "\ncompute per block: " + blocks.map { "\($0.name) " + ms($0.seconds) }.joined(separator: ", ")
        return header + "\n" + Output.table(rows, rightAlignedFrom: 4) + "\n" + totals
    }

    /// The record's name without its layer prefix (`L10.attn.wq_a.fprop` → `attn.wq_a.fprop`).
    static func shortName(_ r: OperationRecord) -> String {
        guard let dot = r.name.firstIndex(of: "."), r.name.hasPrefix("L") else { return r.name }
        return String(r.name[r.name.index(after: dot)...])
    }

    /// M×N×K (× groups) for a GEMM; queries × keys × heads and head dims for attention.
    static func shape(_ r: OperationRecord) -> String {
        switch r.bookkeeping {
        case .router: return "per layer"
        case .expertLayout(let rows): return "\(rows) routed rows"
        case nil: break
        }
        if let g = r.gemm { return "\(g.m)×\(g.n)×\(g.k)" + (g.groups > 1 ? " ×\(g.groups)" : "") }
        if let a = r.attention {
            return "\(a.queries)×\(a.keys)×\(a.heads) h, d \(a.qkDim)/\(a.vDim)" + (a.causal ? ", causal" : "") + (a.window.map { ", window \($0)" } ?? "")
        }
        return ""
    }
}
