import Foundation

/// An SVG timeline of a schedule run: one row per rank, one box per instruction, coloured by
/// kind like the figure in the DualPipe README (forward, backward, backward for inputs,
/// backward for weights, overlapped forward & backward; idle is the background). A step's
/// timeline adds each rank's optimizer parts after its pipeline work: gradient reduce-scatter
/// (or all-reduce), gradient norm (the clipping barrier), AdamW update, parameter all-gather
/// (segments without a micro-batch,
/// micro-batch −1).
public enum TimelineSVG {
    static let colours = ["F": "#f4b183", "B": "#9dc3e6", "Bi": "#a9d18e", "W": "#c9a0dc", "F&B": "#ffd966",
                          OptimizerPart.reduceScatter.rawValue: "#7f7f7f", OptimizerPart.allReduce.rawValue: "#7f7f7f", OptimizerPart.update.rawValue: "#4d4d4d", OptimizerPart.gradientNorm.rawValue: "#e6b8b7",
                          OptimizerPart.allGather.rawValue: "#a6a6a6"]
    static let legend = [("F", "forward"), ("B", "backward"), ("Bi", "backward (inputs)"), ("W", "backward (weights)"), ("F&B", "overlapped F & B")]

    public static func render(_ result: ScheduleResult, title: String, unit: String = "s") -> String {
        render(segments: result.segments, makespan: result.makespan, title: title, unit: unit)
    }

    public static func render(segments: [ScheduleSegment], makespan: Double, title: String, unit: String = "s") -> String {
        let result = (segments: segments, makespan: makespan)
        let ranks = (result.segments.map(\.rank).max() ?? 0) + 1
        let left = 70.0, top = 50.0, rowHeight = 26.0, width = 1100.0
        let scale = (width - left - 20) / max(result.makespan, 1e-12)
        let labels = Set(result.segments.map(\.label))
        let optimizer = OptimizerPart.allCases.filter { labels.contains($0.rawValue) }.map { ($0.rawValue, $0.name) }
        let height = top + Double(ranks) * rowHeight + 70 + (optimizer.isEmpty ? 0 : 18)
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="22" font-size="15" font-weight="bold">\(escape(title))</text>

        """
        for r in 0..<ranks {
            let y = top + Double(r) * rowHeight
            s += "<rect x=\"\(left)\" y=\"\(fmt(y))\" width=\"\(fmt(result.makespan * scale))\" height=\"\(fmt(rowHeight - 4))\" fill=\"#eeeeee\"/>\n"
            s += "<text x=\"\(left - 8)\" y=\"\(fmt(y + rowHeight / 2 + 2))\" text-anchor=\"end\">rank \(r)</text>\n"
        }
        for seg in result.segments {
            let x = left + seg.start * scale, w = max((seg.end - seg.start) * scale, 0.5)
            let y = top + Double(seg.rank) * rowHeight
            let what = seg.microbatch >= 0 ? "\(escape(seg.label)) micro-batch \(seg.microbatch)" : escape(seg.label)
            s += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(w))\" height=\"\(fmt(rowHeight - 4))\" fill=\"\(colours[seg.label] ?? "#999")\" stroke=\"white\" stroke-width=\"0.5\"><title>\(what): \(fmt(seg.start))–\(fmt(seg.end)) \(unit)</title></rect>\n"
            if w > 14, seg.microbatch >= 0 { s += "<text x=\"\(fmt(x + w / 2))\" y=\"\(fmt(y + rowHeight / 2 + 2))\" text-anchor=\"middle\" font-size=\"9\">\(seg.microbatch)</text>\n" }
        }
        let axisY = top + Double(ranks) * rowHeight + 4
        s += "<line x1=\"\(left)\" y1=\"\(fmt(axisY))\" x2=\"\(fmt(left + result.makespan * scale))\" y2=\"\(fmt(axisY))\" stroke=\"black\"/>\n"
        for i in 0...5 {
            let t = result.makespan * Double(i) / 5, x = left + t * scale
            s += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(axisY))\" x2=\"\(fmt(x))\" y2=\"\(fmt(axisY + 4))\" stroke=\"black\"/>"
            s += "<text x=\"\(fmt(x))\" y=\"\(fmt(axisY + 16))\" text-anchor=\"middle\">\(fmt(t)) \(unit)</text>\n"
        }
        var lx = left
        let ly = axisY + 36
        func entry(_ colour: String, _ name: String, _ x: Double, _ y: Double) -> String {
            "<rect x=\"\(fmt(x))\" y=\"\(fmt(y - 9))\" width=\"12\" height=\"12\" fill=\"\(colour)\"/><text x=\"\(fmt(x + 16))\" y=\"\(fmt(y + 1))\">\(escape(name))</text>\n"
        }
        for (key, name) in legend {
            s += entry(colours[key]!, name, lx, ly)
            lx += 150
        }
        s += entry("#eeeeee", "idle", lx, ly)
        // The optimizer's parts, when the timeline has them, on a second line.
        for (i, (key, name)) in optimizer.enumerated() { s += entry(colours[key]!, name, left + Double(i) * 150, ly + 18) }
        return s + "</svg>\n"
    }

    /// A number with up to three decimals, trailing zeros dropped.
    public static func fmt(_ x: Double) -> String {
        let s = String(format: "%.3f", x)
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
