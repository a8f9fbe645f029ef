import Foundation

/// Line, bar and stacked-bar plots of stored results as standalone SVG: a title, axes with their units and
/// "nice" ticks, one colour per series and a legend. Deterministic text (fixed number format),
/// so notebooks can check plots byte for byte.
public enum PlotSVG {
    /// `stacked`: one bar per x, the series stacked in order (parts of a whole, such as
    /// `StepTimeBreakdown`'s); negative values are drawn from zero downwards.
    public enum Kind: String, Sendable, CaseIterable { case line, bar, stacked }

    public struct Series: Sendable, Equatable {
        public var name: String
        public var points: [(x: String, y: Double)]
        public static func == (a: Series, b: Series) -> Bool {
            a.name == b.name && a.points.map(\.x) == b.points.map(\.x) && a.points.map(\.y) == b.points.map(\.y)
        }
        public init(name: String, points: [(x: String, y: Double)]) { self.name = name; self.points = points }
    }

    /// Colour-blind-safe palette (Okabe & Ito 2008).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    /// Renders `series` against x. A line plot uses a numeric x axis when every x is a number
    /// (log-scaled with `logX`), otherwise categories; bar plots always use categories.
    public static func render(series: [Series], kind: Kind, title: String, xLabel: String, yLabel: String, logX: Bool = false) -> String {
        // The legend sits right of the plot; its width follows the longest name (≈7 px a character).
        let longest = Double(series.map(\.name.count).max() ?? 10)
        let right = max(150, 46 + 7 * longest)
        let width = 570.0 + right, left = 84.0, top = 48.0
        // Room under the axis for slanted labels (sin 30° of the longest one).
        let longestX = Double(orderedCategories(series).map(\.count).max() ?? 0)
        let bottom = max(64.0, 64 + longestX * 7 * 0.5)
        let height = 396.0 + bottom
        let plotW = width - left - right, plotH = height - top - bottom
        let allX = orderedCategories(series)
        let numericX = kind == .line && allX.allSatisfy { Double($0) != nil }
        var ys = series.flatMap { $0.points.map(\.y) }
        if kind == .stacked {
            // The axis spans each x's stack: the sum of its positive parts, and of its negative ones.
            var up: [String: Double] = [:], down: [String: Double] = [:]
            for serie in series { for p in serie.points { if p.y > 0 { up[p.x, default: 0] += p.y } else { down[p.x, default: 0] += p.y } } }
            ys = Array(up.values) + Array(down.values)
        }
        let (yMin, yMax, yTicks) = niceScale(min: min(0, ys.min() ?? 0), max: max(ys.max() ?? 1, 0))
        func yPos(_ y: Double) -> Double { top + plotH - (y - yMin) / max(yMax - yMin, 1e-300) * plotH }

        var xPos: (String) -> Double
        var xTicks: [(label: String, x: Double)] = []
        if numericX {
            let values = allX.compactMap(Double.init)
            let useLog = logX && values.allSatisfy { $0 > 0 }
            let f: (Double) -> Double = useLog ? { log10($0) } : { $0 }
            let lo = f(values.min() ?? 0), hi = f(values.max() ?? 1)
            let span = hi > lo ? hi - lo : 1
            let pos: (Double) -> Double = { left + 20 + (f($0) - lo) / span * (plotW - 40) }
            xPos = { pos(Double($0) ?? 0) }
            if useLog || values.count <= 12 {
                xTicks = values.map { (fmtTick($0), pos($0)) }
            } else {
                let (a, b, ticks) = niceScale(min: values.min()!, max: values.max()!)
                _ = (a, b)
                xTicks = ticks.filter { $0 >= values.min()! && $0 <= values.max()! }.map { (fmtTick($0), pos($0)) }
            }
        } else {
            let step = plotW / Double(max(allX.count, 1))
            let index = Dictionary(uniqueKeysWithValues: allX.enumerated().map { ($1, $0) })
            xPos = { left + (Double(index[$0] ?? 0) + 0.5) * step }
            xTicks = allX.map { ($0, xPos($0)) }
        }

        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(left + plotW / 2))" y="26" text-anchor="middle" font-size="15" font-weight="bold">\(escape(title))</text>

        """
        // Grid and y axis.
        for t in yTicks {
            let y = yPos(t)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(fmtTick(t))</text>\n"
        }
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        // Category labels that would overlap (≈7 px a character) are slanted.
        let slot = plotW / Double(max(allX.count, 1))
        let rotate = !numericX && Double(allX.map(\.count).max() ?? 0) * 7 > slot * 0.95
        for t in xTicks {
            s += "<line x1=\"\(f(t.x))\" y1=\"\(f(top + plotH))\" x2=\"\(f(t.x))\" y2=\"\(f(top + plotH + 5))\" stroke=\"black\"/>"
            if rotate {
                s += "<text x=\"\(f(t.x))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"end\" transform=\"rotate(-30 \(f(t.x)) \(f(top + plotH + 16)))\" font-size=\"11\">\(escape(t.label))</text>\n"
            } else {
                s += "<text x=\"\(f(t.x))\" y=\"\(f(top + plotH + 20))\" text-anchor=\"middle\">\(escape(t.label))</text>\n"
            }
        }
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text x=\"18\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(f(top + plotH / 2)))\">\(escape(yLabel))</text>\n"

        // Data.
        let groupWidth = plotW / Double(max(allX.count, 1)) * 0.8
        let barWidth = groupWidth / Double(max(series.count, 1))
        // Stacked bars: where each x's next part starts, above and below zero.
        var stackUp: [String: Double] = [:], stackDown: [String: Double] = [:]
        for (i, serie) in series.enumerated() {
            let colour = palette[i % palette.count]
            switch kind {
            case .line:
                let pts = serie.points.map { (xPos($0.x), yPos($0.y), $0) }
                if pts.count > 1 {
                    s += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(pts.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\"/>\n"
                }
                for (x, y, p) in pts {
                    s += "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"3.5\" fill=\"\(colour)\"><title>\(escape(serie.name)) \(escape(p.x)): \(fmtTick(p.y))</title></circle>\n"
                }
            case .bar:
                for p in serie.points {
                    let x = xPos(p.x) - groupWidth / 2 + Double(i) * barWidth
                    let y0 = yPos(0), y1 = yPos(p.y)
                    s += "<rect x=\"\(f(x))\" y=\"\(f(min(y0, y1)))\" width=\"\(f(barWidth * 0.92))\" height=\"\(f(abs(y1 - y0)))\" fill=\"\(colour)\"><title>\(escape(serie.name)) \(escape(p.x)): \(fmtTick(p.y))</title></rect>\n"
                }
            case .stacked:
                for p in serie.points where p.y != 0 {
                    let base = p.y > 0 ? stackUp[p.x, default: 0] : stackDown[p.x, default: 0]
                    if p.y > 0 { stackUp[p.x] = base + p.y } else { stackDown[p.x] = base + p.y }
                    let y0 = yPos(base), y1 = yPos(base + p.y)
                    s += "<rect x=\"\(f(xPos(p.x) - groupWidth / 2))\" y=\"\(f(min(y0, y1)))\" width=\"\(f(groupWidth))\" height=\"\(f(abs(y1 - y0)))\" fill=\"\(colour)\"><title>\(escape(serie.name)) \(escape(p.x)): \(fmtTick(p.y))</title></rect>\n"
                }
            }
        }
        // Legend.
        for (i, serie) in series.enumerated() {
            let y = top + 10 + Double(i) * 20
            s += "<rect x=\"\(f(left + plotW + 18))\" y=\"\(f(y - 9))\" width=\"12\" height=\"12\" fill=\"\(palette[i % palette.count])\"/>"
            s += "<text x=\"\(f(left + plotW + 36))\" y=\"\(f(y + 1))\">\(escape(serie.name))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// x values in first-seen order; numeric ones sorted by value.
    static func orderedCategories(_ series: [Series]) -> [String] {
        var seen: [String] = []
        for s in series { for p in s.points where !seen.contains(p.x) { seen.append(p.x) } }
        if seen.allSatisfy({ Double($0) != nil }) { return seen.sorted { Double($0)! < Double($1)! } }
        return seen
    }

    /// Axis bounds and ticks at 1, 2 or 5 × 10ⁿ covering [min, max].
    static func niceScale(min lo: Double, max hi: Double) -> (Double, Double, [Double]) {
        let span = hi > lo ? hi - lo : max(abs(hi), 1)
        let raw = span / 5
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let start = (lo / step).rounded(.down) * step, end = (hi / step).rounded(.up) * step
        var ticks: [Double] = []
        var t = start
        while t <= end + step / 2 { ticks.append((t / step).rounded() * step); t += step }
        return (start, max(end, start + step), ticks)
    }

    static func fmtTick(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v.rounded() == v, abs(v) < 1e15 { return TextTable.grouped(String(Int64(v))) }
        if abs(v) >= 1e6 || abs(v) < 1e-3 { return String(format: "%.3g", v) }
        var t = String(format: "%.3f", v)
        while t.hasSuffix("0") { t.removeLast() }
        return t
    }

    static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
