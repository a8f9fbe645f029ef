import Dispatch

/// Independent work on all cores, results in index order. Parallelism lives above the engine
/// (DESIGN.md): each iteration is a whole computation (one GPU's routing, one sweep point's
/// all-to-all), never a shared simulation.
public enum Parallel {
    /// `body(i)` for every i in 0..<count, concurrently; the results in index order. `body` may
    /// touch only state that belongs to its own index (or is read-only) — the caller's promise,
    /// which is why it need not be `Sendable`. The error of the lowest failing index is thrown
    /// once every iteration has ended, so failures are reproducible.
    public static func map<T>(_ count: Int, _ body: (Int) throws -> T) throws -> [T] {
        try withoutActuallyEscaping(body) { body in
            let slots = Slots<T>(count: count, body: body)
            DispatchQueue.concurrentPerform(iterations: count) { slots.run($0) }
            return try slots.results()
        }
    }
}

/// One result slot per index, written only by that index's iteration.
private final class Slots<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Result<T, Error>?>
    let body: (Int) throws -> T

    init(count: Int, body: @escaping (Int) throws -> T) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
        self.body = body
    }

    deinit { buffer.deinitialize(); buffer.deallocate() }

    func run(_ i: Int) { buffer[i] = Result { try body(i) } }

    func results() throws -> [T] { try buffer.map { try $0!.get() } }
}
