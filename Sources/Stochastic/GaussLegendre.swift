import CGSL

/// An n-point Gauss–Legendre rule: exact for polynomials of degree up to 2n − 1 on any interval
/// (GSL `gsl_integration_glfixed`, whose nodes and weights are tabulated or computed by Newton's
/// method to double precision).
public struct GaussLegendre: Sendable {
    /// Nodes on [−1, 1], ascending.
    public let nodes: [Double]
    /// Their weights (they sum to 2).
    public let weights: [Double]

    public init(points: Int) throws {
        try StochasticError.require(points >= 1, "points", points, ">= 1")
        GSLSetup.disableAbortHandler()
        guard let table = gsl_integration_glfixed_table_alloc(points) else {
            throw StochasticError(parameter: "points", value: "\(points)", requirement: "accepted by gsl_integration_glfixed_table_alloc")
        }
        defer { gsl_integration_glfixed_table_free(table) }
        var x = [Double](), w = [Double]()
        for i in 0..<points {
            var xi = 0.0, wi = 0.0
            gsl_integration_glfixed_point(-1, 1, i, &xi, &wi, table)
            x.append(xi); w.append(wi)
        }
        let order = x.indices.sorted { x[$0] < x[$1] }
        nodes = order.map { x[$0] }
        weights = order.map { w[$0] }
    }

    /// The rule's nodes and weights mapped onto [a, b], in the order of `nodes`.
    @inlinable
    public func forEachNode(from a: Double, to b: Double, _ body: (_ x: Double, _ weight: Double) -> Void) {
        let half = 0.5 * (b - a), middle = 0.5 * (a + b)
        for i in nodes.indices { body(middle + half * nodes[i], half * weights[i]) }
    }
}
