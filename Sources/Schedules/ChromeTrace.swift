import Foundation

/// Chrome trace-event JSON of a pipeline run (opens in Perfetto or chrome://tracing): one
/// process per rank, one complete ("X") event per executed instruction, times in µs.
public enum ChromeTrace {
    public static func render(segments: [ScheduleSegment], name: String) -> String {
        var lines: [String] = []
        let ranks = Set(segments.map(\.rank)).sorted()
        for r in ranks {
            lines.append(#"{"name":"process_name","ph":"M","pid":\#(r),"tid":0,"args":{"name":"rank \#(r)"}}"#)
            lines.append(#"{"name":"thread_name","ph":"M","pid":\#(r),"tid":0,"args":{"name":"compute stream"}}"#)
        }
        for s in segments {
            let ts = String(format: "%.3f", s.start * 1e6), dur = String(format: "%.3f", (s.end - s.start) * 1e6)
            lines.append(#"{"name":"\#(s.label) mb\#(s.microbatch)","cat":"\#(s.label)","ph":"X","pid":\#(s.rank),"tid":0,"ts":\#(ts),"dur":\#(dur)}"#)
        }
        return "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"name\":\"\(name)\"},\"traceEvents\":[\n" + lines.joined(separator: ",\n") + "\n]}\n"
    }
}
