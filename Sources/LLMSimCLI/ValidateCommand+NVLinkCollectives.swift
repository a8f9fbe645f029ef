import Fabric
import Hardware

extension ValidateCommand {
    /// OpenXLA's NVLink collectives at 2 GiB (`OpenXLACollectiveTable`) against the ring llmsim
    /// prices a tensor-parallel collective with (`Operation.ringSeconds`, the node's ring rate
    /// inside its scale-up domain, the default hop latency). The Blackwell 8-GPU rows set NVLink
    /// 5's achievable share (their mean): a calibration, each row within a few per cent of it;
    /// the Hopper rows check the 0.8 its entries carry; the 4-GPU rows check that one share
    /// serves smaller groups, the GB200 rack's 64-GPU rows that it serves a whole domain. Rows
    /// NCCL ran as NVLS say so: llmsim prices every NVLink collective as a ring.
    static func nvlinkCollectiveCases(hardware: HardwareCatalog) throws -> [Case] {
        let table = OpenXLACollectiveTable.self, bytes = table.bufferBytes
        return try table.generations.flatMap { generation in
            let node = try hardware.node(generation.node)
            return generation.rows.map { row in
                let seconds = row.operation.ringSeconds(bytes: bytes, gpus: row.gpus, bandwidth: node.ringScaleUpBandwidth(members: row.gpus),
                                                        latency: Topology.defaultLatency.scaleUp)
                let note = generation.setsCatalogShare && row.gpus == table.shareGPUs ? " (calibrates NVLink 5)"
                    : generation.ranInSwitch(row) ? " (NVLS: not modelled)" : ""
                return check("NCCL \(row.operation.rawValue), \(row.gpus) \(node.device.name), 2 GiB\(note)", "OpenXLA collective table (\(generation.arch))",
                             published: row.algorithmicBandwidth / 1e9, simulated: bytes / seconds / 1e9, unit: "GB/s", tolerance: 0.10)
            }
        }
    }
}
