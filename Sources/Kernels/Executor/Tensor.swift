/// A 2-D activation as the layer code sees it: `rows` tokens × `cols` features. Executors
/// choose what else it carries (values, or nothing).
public protocol TensorValue {
    var rows: Int { get }
    var cols: Int { get }
}

/// A tensor known only by its shape (cost executor). `id` lets the executor recognise a tensor
/// it has already cast to FP8.
public struct ShapeTensor: TensorValue, Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var id: Int
    public init(rows: Int, cols: Int, id: Int = -1) { self.rows = rows; self.cols = cols; self.id = id }
}

/// A tensor with values, row-major (numeric executor).
public struct DenseTensor: TensorValue, Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var values: [Double]
    public init(rows: Int, cols: Int, values: [Double]) {
        precondition(values.count == rows * cols, "a \(rows)×\(cols) tensor needs \(rows * cols) values")
        self.rows = rows; self.cols = cols; self.values = values
    }
    public init(zeros rows: Int, _ cols: Int) { self.init(rows: rows, cols: cols, values: [Double](repeating: 0, count: rows * cols)) }
    public subscript(r: Int, c: Int) -> Double {
        get { values[r * cols + c] }
        set { values[r * cols + c] = newValue }
    }
}

/// A weight matrix `input × output` of a Linear, named for records and for the numeric store.
public struct Weight: Sendable, Equatable, Hashable {
    public var name: String
    public var input: Int
    public var output: Int
    public var precision: Precision
    public init(_ name: String, _ input: Int, _ output: Int, precision: Precision) {
        self.name = name; self.input = input; self.output = output; self.precision = precision
    }
}

import Hardware
