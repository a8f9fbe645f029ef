import Foundation
import Testing
@testable import LLMSimCLI

/// `llmsim alltoall` as a user types it: the NVLink domain applies to the dispatchers that reach
/// one, and DeepEP, whose NVLink peers are a node's GPUs, refuses it by name.
@Suite struct AllToAllCommandTests {
    @Test func nvlinkDomainIsRefusedUnderDeepEP() throws {
        setenv("LLMSIM_HOME", CLITests.repo.path, 1)
        let deepep = try LLMSim.parseAsRoot(["alltoall", "--ep", "16", "--node", "GB200-NVL72-TRAY", "--dispatcher", "deepep", "--nvlink-domain", "16"]) as! AllToAllCommand
        #expect { try deepep.output() } throws: { error in
            "\(error)".contains("--nvlink-domain") && "\(error)".contains("--gpus-per-node") && "\(error)".contains("hybridep")
        }
        let hybrid = try LLMSim.parseAsRoot(["alltoall", "--ep", "16", "--node", "GB200-NVL72-TRAY", "--dispatcher", "hybridep", "--nvlink-domain", "16", "--experts", "128"]) as! AllToAllCommand
        #expect(try hybrid.output().contains("16 GPUs/NVLink domain"))
    }
}
