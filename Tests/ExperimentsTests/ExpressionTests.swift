import Testing
@testable import Experiments

@Suite struct ExpressionTests {
    func eval(_ text: String, _ names: [String: Double] = [:]) throws -> Double {
        try Expression(text).evaluate { names[$0] }
    }

    @Test func arithmeticAndPrecedence() throws {
        #expect(try eval("1 + 2 * 3") == 7)
        #expect(try eval("(1 + 2) * 3") == 9)
        #expect(try eval("15360 / 128") == 120)
        #expect(try eval("15360 // 1024") == 15)
        #expect(try eval("-7 // 2") == -4)
        #expect(try eval("17 % 5") == 2)
        #expect(try eval("4_096 * 1e3") == 4_096_000)
        #expect(try eval("2 - -3") == 5)
    }

    @Test func namesAndFunctions() throws {
        #expect(try eval("min(64, dp)", ["dp": 16]) == 16)
        #expect(try eval("max(2 * parallel.pp, 4096 // dp)", ["parallel.pp": 8, "dp": 384]) == 16)
        #expect(try eval("ceil(gpus / 3)", ["gpus": 10]) == 4)
        #expect(try eval("run.phases[0].batch / 2", ["run.phases[0].batch": 15360]) == 7680)
    }

    @Test func errorsNameTheProblem() {
        #expect(throws: Expression.Failure.self) { try eval("dq * 2", ["dp": 1]) }
        #expect(throws: Expression.Failure.self) { try eval("(1 + 2") }
        #expect(throws: Expression.Failure.self) { try eval("1 / 0") }
        #expect(throws: Expression.Failure.self) { try eval("sqrt(4)") }
        #expect(throws: Expression.Failure.self) { try eval("3 $ 4") }
        do { _ = try eval("dq * 2", ["dp": 1]) } catch let f as Expression.Failure { #expect(f.problem.contains("unknown name 'dq'")) } catch { Issue.record("wrong error \(error)") }
    }
}
