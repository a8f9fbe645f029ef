import CGSL

/// Double-precision matrix product through GSL's CBLAS, for the numeric executor's FP64
/// reference results.
public enum BLAS {
    /// C = A · B for row-major A (m×k) and B (k×n); returns row-major C (m×n).
    public static func gemm(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int) throws -> [Double] {
        try StochasticError.require(m > 0 && n > 0 && k > 0, "shape", "\(m)×\(n)×\(k)", "all dimensions > 0")
        try StochasticError.require(a.count == m * k, "A.count", a.count, "m·k = \(m * k)")
        try StochasticError.require(b.count == k * n, "B.count", b.count, "k·n = \(k * n)")
        var c = [Double](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                                1.0, pa.baseAddress, Int32(k), pb.baseAddress, Int32(n), 0.0, pc.baseAddress, Int32(n))
                }
            }
        }
        return c
    }
}
