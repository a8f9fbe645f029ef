import Foundation
import Schedules

/// The Chrome trace-event JSON of a simulated step with its streams (opens in Perfetto): one
/// process per rank, thread 0 the compute stream, thread 1 the communication stream. Each
/// executed instruction is expanded into the blocks of its stage's layers, in DeepSeek's order:
/// a forward runs attention, dispatch, MLP, combine in turn; an overlapped F&B pair runs per
/// layer the four slots combine(B) ‖ attn(F); mlp(B) ‖ dispatch(F); mlp(W) + mlp(F) ‖
/// dispatch(B); attn(B) + attn(W) ‖ combine(F) (V3 report Fig. 4). A stage's layers are shown
/// as equal shares of the stage's block times; blocks are scaled to fill the instruction's
/// simulated span exactly.
public enum StepTrace {
    struct Block { var name: String; var compute: Bool; var seconds: Double }
    /// One time slot: compute blocks (in order) alongside communication blocks (in order).
    struct Slot { var compute: [Block] = []; var comm: [Block] = [] }

    public static func render(segments: [ScheduleSegment], stageTimes: [LayerTimes], stageLayers: [Int], name: String) -> String {
        var lines: [String] = []
        for r in Set(segments.map(\.rank)).sorted() {
            lines.append(#"{"name":"process_name","ph":"M","pid":\#(r),"tid":0,"args":{"name":"rank \#(r)"}}"#)
            lines.append(#"{"name":"thread_name","ph":"M","pid":\#(r),"tid":0,"args":{"name":"compute stream"}}"#)
            lines.append(#"{"name":"thread_name","ph":"M","pid":\#(r),"tid":1,"args":{"name":"communication stream"}}"#)
        }
        for s in segments {
            let slots = self.slots(s, stageTimes: stageTimes, stageLayers: stageLayers)
            let total = slots.reduce(0) { $0 + max($1.compute.reduce(0) { $0 + $1.seconds }, $1.comm.reduce(0) { $0 + $1.seconds }) }
            let scale = total > 0 ? (s.end - s.start) / total : 0
            var t = s.start
            for slot in slots {
                var c = t, m = t
                for b in slot.compute where b.seconds > 0 { lines.append(event(b, s, c, scale, tid: 0)); c += b.seconds * scale }
                for b in slot.comm where b.seconds > 0 { lines.append(event(b, s, m, scale, tid: 1)); m += b.seconds * scale }
                t = max(c, m)
            }
        }
        return "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"name\":\"\(name)\"},\"traceEvents\":[\n" + lines.joined(separator: ",\n") + "\n]}\n"
    }

    static func event(_ b: Block, _ s: ScheduleSegment, _ start: Double, _ scale: Double, tid: Int) -> String {
        let ts = String(format: "%.3f", start * 1e6), dur = String(format: "%.3f", b.seconds * scale * 1e6)
        return #"{"name":"\#(b.name)","cat":"\#(s.label)","ph":"X","pid":\#(s.rank),"tid":\#(tid),"ts":\#(ts),"dur":\#(dur),"args":{"microbatch":\#(s.microbatch),"instruction":"\#(s.label)"}}"#
    }

    /// The slots of one instruction.
    static func slots(_ s: ScheduleSegment, stageTimes: [LayerTimes], stageLayers: [Int]) -> [Slot] {
        guard let first = s.stages.first, first < stageTimes.count else {
            // Work outside the schedule's stages: the ZeRO-1 collectives run on the
            // communication stream, anything else (the AdamW update) on the compute stream.
            let block = Block(name: s.label, compute: !(OptimizerPart(rawValue: s.label)?.isCommunication ?? false), seconds: s.end - s.start)
            return [block.compute ? Slot(compute: [block]) : Slot(comm: [block])]
        }
        let f = stageTimes[first], nF = max(stageLayers[first % stageLayers.count], 1)
        func share(_ x: Double, _ n: Int) -> Double { x / Double(n) }
        switch s.label {
        case "F":
            var slots = (0..<nF).map { _ in
                Slot(compute: [Block(name: "attn F", compute: true, seconds: share(f.attentionForward, nF))],
                     comm: [Block(name: "dispatch F", compute: false, seconds: share(f.dispatchForward, nF))])
            }
            slots = slots.flatMap { [$0, Slot(compute: [Block(name: "mlp F", compute: true, seconds: share(f.mlpForward, nF))],
                                             comm: [Block(name: "combine F", compute: false, seconds: share(f.combineForward, nF))])] }
            // Sequential: a forward alone waits for its all-to-alls.
            return sequential(slots) + [Slot(compute: [Block(name: "other F", compute: true, seconds: f.otherForward)],
                                             comm: [Block(name: "TP collectives F", compute: false, seconds: f.tensorParallelForward),
                                                    Block(name: "CP ring F", compute: false, seconds: f.contextParallelForward),
                                                    Block(name: "FSDP F", compute: false, seconds: f.fullyShardedForward)]),
                                        hostWait(StepTimeBreakdown.instruction(s.label, stages: [f]).hostS)]
        case "B", "Bi":
            let withWeight = s.label == "B"
            var slots: [Slot] = []
            for _ in 0..<nF {
                slots.append(Slot(comm: [Block(name: "combine B", compute: false, seconds: share(f.combineBackward, nF))]))
                slots.append(Slot(compute: [Block(name: "mlp B", compute: true, seconds: share(f.mlpBackwardInput, nF))]
                                  + (withWeight ? [Block(name: "mlp W", compute: true, seconds: share(f.mlpBackwardWeight, nF))] : [])))
                slots.append(Slot(comm: [Block(name: "dispatch B", compute: false, seconds: share(f.dispatchBackward, nF))]))
                slots.append(Slot(compute: [Block(name: "attn B", compute: true, seconds: share(f.attentionBackwardInput, nF))]
                                  + (withWeight ? [Block(name: "attn W", compute: true, seconds: share(f.attentionBackwardWeight, nF))] : [])))
            }
            return slots + [Slot(compute: [Block(name: "other B", compute: true, seconds: f.otherBackwardInput + (withWeight ? f.otherBackwardWeight : 0))],
                                 comm: [Block(name: "TP collectives B", compute: false, seconds: f.tensorParallelBackward),
                                        Block(name: "CP ring B", compute: false, seconds: f.contextParallelBackward),
                                        Block(name: "FSDP B", compute: false, seconds: f.fullyShardedBackward)]),
                            hostWait(StepTimeBreakdown.instruction(s.label, stages: [f]).hostS)]
        case "W":
            return [Slot(compute: [Block(name: "mlp W", compute: true, seconds: f.mlpBackwardWeight),
                                   Block(name: "attn W", compute: true, seconds: f.attentionBackwardWeight),
                                   Block(name: "other W", compute: true, seconds: f.otherBackwardWeight)])]
        default: // F&B
            let bStage = s.stages.count > 1 ? s.stages[1] : first
            let b = stageTimes[bStage % stageTimes.count], n = max(nF, max(stageLayers[bStage % stageLayers.count], 1))
            var slots: [Slot] = []
            for _ in 0..<n {
                slots.append(Slot(compute: [Block(name: "attn F", compute: true, seconds: share(f.attentionForward, n))],
                                  comm: [Block(name: "combine B", compute: false, seconds: share(b.combineBackward, n))]))
                slots.append(Slot(compute: [Block(name: "mlp B", compute: true, seconds: share(b.mlpBackwardInput, n))],
                                  comm: [Block(name: "dispatch F", compute: false, seconds: share(f.dispatchForward, n))]))
                slots.append(Slot(compute: [Block(name: "mlp W", compute: true, seconds: share(b.mlpBackwardWeight, n)),
                                            Block(name: "mlp F", compute: true, seconds: share(f.mlpForward, n))],
                                  comm: [Block(name: "dispatch B", compute: false, seconds: share(b.dispatchBackward, n))]))
                slots.append(Slot(compute: [Block(name: "attn B", compute: true, seconds: share(b.attentionBackwardInput, n)),
                                            Block(name: "attn W", compute: true, seconds: share(b.attentionBackwardWeight, n))],
                                  comm: [Block(name: "combine F", compute: false, seconds: share(f.combineForward, n))]))
            }
            return slots + [Slot(compute: [Block(name: "other F&B", compute: true, seconds: f.otherForward + b.otherBackwardInput + b.otherBackwardWeight)],
                                 comm: [Block(name: "TP collectives", compute: false, seconds: f.tensorParallelForward + b.tensorParallelBackward),
                                        Block(name: "CP ring", compute: false, seconds: f.contextParallelForward + b.contextParallelBackward),
                                        Block(name: "FSDP", compute: false, seconds: f.fullyShardedForward + b.fullyShardedBackward)]),
                            hostWait(StepTimeBreakdown.instruction(s.label, stages: [f, b]).hostS)]
        }
    }

    /// The compute stream idle while the host launches operations (`HostIssue`), shown as one
    /// block at the end of the instruction (the waits are spread through it).
    static func hostWait(_ seconds: Double) -> Slot {
        Slot(compute: [Block(name: "wait for host", compute: false, seconds: seconds)])
    }

    /// Slots whose compute and communication run one after the other (no overlap).
    static func sequential(_ slots: [Slot]) -> [Slot] {
        slots.flatMap { slot in [Slot(compute: slot.compute), Slot(comm: slot.comm)] }
    }
}
