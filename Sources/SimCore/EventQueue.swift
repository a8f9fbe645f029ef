/// A hand-written 4-ary min-heap of `Event`s ordered by `(time, sequence)`.
///
/// Layout for speed: the heap itself moves only 16-byte keys `(time, order)`, where `order`
/// packs the sequence number (high 40 bits) above the index of a slot (low 24 bits) that holds
/// the rest of the event (kind, target, payload). Four children then share one 64-byte cache
/// line, and sifting never copies payloads. Because sequence numbers are unique, comparing
/// `order` compares sequence numbers. Limits: 2⁴⁰ ≈ 1.1·10¹² events scheduled per queue and
/// 2²⁴ ≈ 16.7 million pending at once.
///
/// A 4-ary heap halves the depth of a binary heap; swift-collections' `Heap` is the oracle in
/// the tests, and `llmsim bench` compares the two.
///
/// Complexity: `push` O(log₄ n), `popMin` O(4 log₄ n), `min` O(1).
public struct EventQueue: Sendable {
    @usableFromInline struct Key: Sendable {
        @usableFromInline var time: Int64
        @usableFromInline var order: UInt64
        @inlinable init(time: Int64, order: UInt64) { self.time = time; self.order = order }
        @inlinable func precedes(_ other: Key) -> Bool {
            time < other.time || (time == other.time && order < other.order)
        }
    }

    @usableFromInline struct Slot: Sendable {
        @usableFromInline var kind: UInt32
        @usableFromInline var target: Int32
        @usableFromInline var payload: Int64
        @inlinable init(kind: UInt32, target: Int32, payload: Int64) { self.kind = kind; self.target = target; self.payload = payload }
    }

    @usableFromInline static let slotBits: UInt64 = 24
    @usableFromInline static let slotMask: UInt64 = (1 << 24) - 1
    /// Largest number of events pending at once.
    public static let maxPending = 1 << 24
    /// Largest sequence number an event may carry.
    public static let maxSequence: UInt64 = (1 << 40) - 1

    @usableFromInline var keys: [Key] = []
    @usableFromInline var slots: [Slot] = []
    @usableFromInline var freeSlots: [Int32] = []

    public init(reservingCapacity capacity: Int = 0) {
        keys.reserveCapacity(capacity)
        slots.reserveCapacity(capacity)
    }

    @inlinable public var count: Int { keys.count }
    @inlinable public var isEmpty: Bool { keys.isEmpty }

    /// The earliest event, without removing it.
    @inlinable public var min: Event? {
        guard let key = keys.first else { return nil }
        return event(key)
    }

    /// Time of the earliest event, if any.
    @inlinable public var minTime: SimTime? { keys.first.map { SimTime(picoseconds: $0.time) } }

    @inlinable func event(_ key: Key) -> Event {
        let slot = slots[Int(key.order & Self.slotMask)]
        return Event(time: SimTime(picoseconds: key.time), sequence: key.order >> Self.slotBits,
                     kind: slot.kind, target: slot.target, payload: slot.payload)
    }

    /// Inserts an event. O(log₄ n).
    @inlinable
    public mutating func push(_ event: Event) {
        precondition(event.sequence <= Self.maxSequence, "event sequence number beyond 2^40")
        let index: Int
        let slot = Slot(kind: event.kind, target: event.target, payload: event.payload)
        if let free = freeSlots.popLast() {
            index = Int(free)
            slots[index] = slot
        } else {
            precondition(slots.count < Self.maxPending, "more than 2^24 events pending")
            index = slots.count
            slots.append(slot)
        }
        keys.append(Key(time: event.time.picoseconds, order: event.sequence << Self.slotBits | UInt64(index)))
        siftUp(from: keys.count - 1)
    }

    /// Removes and returns the earliest event. O(log₄ n).
    @inlinable
    public mutating func popMin() -> Event? {
        guard let last = keys.popLast() else { return nil }
        let top: Key
        if keys.isEmpty {
            top = last
        } else {
            top = keys[0]
            siftDown(placing: last)
        }
        let result = event(top)
        freeSlots.append(Int32(truncatingIfNeeded: top.order & Self.slotMask))
        return result
    }

    @inlinable
    mutating func siftUp(from start: Int) {
        keys.withUnsafeMutableBufferPointer { heap in
            var child = start
            let moving = heap[child]
            while child > 0 {
                let parent = (child - 1) >> 2
                if !moving.precedes(heap[parent]) { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = moving
        }
    }

    /// Fills the hole at the root with `moving`, sifting it down.
    @inlinable
    mutating func siftDown(placing moving: Key) {
        keys.withUnsafeMutableBufferPointer { heap in
            let n = heap.count
            var parent = 0
            while true {
                let first = 4 &* parent &+ 1
                if first >= n { break }
                var best = first
                if first &+ 3 < n {
                    // Full set of four children: a branch-light tournament.
                    let a = heap[first].precedes(heap[first &+ 1]) ? first : first &+ 1
                    let b = heap[first &+ 2].precedes(heap[first &+ 3]) ? first &+ 2 : first &+ 3
                    best = heap[a].precedes(heap[b]) ? a : b
                } else {
                    var c = first &+ 1
                    while c < n {
                        if heap[c].precedes(heap[best]) { best = c }
                        c &+= 1
                    }
                }
                if !heap[best].precedes(moving) { break }
                heap[parent] = heap[best]
                parent = best
            }
            heap[parent] = moving
        }
    }

    /// Checks the heap property everywhere and the slot bookkeeping; used by tests. O(n).
    public func checkInvariants() -> Bool {
        for i in 1..<Swift.max(keys.count, 1) where keys[i].precedes(keys[(i - 1) >> 2]) {
            return false
        }
        return keys.count + freeSlots.count == slots.count
    }
}
