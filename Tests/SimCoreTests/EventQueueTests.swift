import HeapModule
import Testing
@testable import SimCore

/// The hand-written 4-ary heap against swift-collections' `Heap` as oracle.
@Suite struct EventQueueTests {
    struct Key: Comparable {
        var time: Int64
        var sequence: UInt64
        static func < (a: Key, b: Key) -> Bool { a.time < b.time || (a.time == b.time && a.sequence < b.sequence) }
    }

    @Test(arguments: [1, 7, 1_000])
    func matchesHeapOracleUnderRandomOperations(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var queue = EventQueue()
        var oracle = Heap<Key>()
        var sequence: UInt64 = 0
        for step in 0..<20_000 {
            // Push twice as often as pop early on, then drain; times drawn from a small range so ties are common.
            let push = oracle.isEmpty || (step < 12_000 ? rng.next() % 3 != 0 : rng.next() % 3 == 0)
            if push {
                let t = Int64(rng.next() % 50)
                queue.push(Event(time: SimTime(picoseconds: t), sequence: sequence, kind: 0, target: 0, payload: 0))
                oracle.insert(Key(time: t, sequence: sequence))
                sequence += 1
            } else {
                let a = queue.popMin()!
                let b = oracle.removeMin()
                #expect(a.time.picoseconds == b.time && a.sequence == b.sequence)
            }
            if step % 997 == 0 { #expect(queue.checkInvariants()) }
        }
        while let b = oracle.popMin() {
            let a = queue.popMin()!
            #expect(a.time.picoseconds == b.time && a.sequence == b.sequence)
        }
        #expect(queue.isEmpty)
    }

    @Test func equalTimesPopInSchedulingOrder() {
        var queue = EventQueue()
        for s in (0..<100).reversed() {
            queue.push(Event(time: SimTime(picoseconds: 5), sequence: UInt64(s), kind: 0, target: 0, payload: Int64(s)))
        }
        var seen: [Int64] = []
        while let e = queue.popMin() { seen.append(e.payload) }
        #expect(seen == Array(0..<100).map(Int64.init))
    }

    @Test func emptyQueuePopsNil() {
        var queue = EventQueue()
        #expect(queue.popMin() == nil)
        #expect(queue.checkInvariants())
    }
}
