import Foundation
import GRPCCore
import KeelCore

/// Conversions between the Swift domain types and the worker protocol's messages. Rich payloads
/// travel as KeelJSON in `bytes` fields.
enum WireFormat {
    /// Metadata keys that carry a `StoreError.notFound` across the wire.
    static let notFoundKindKey = "keel-not-found-kind"
    static let notFoundIDKey = "keel-not-found-id"

    /// The largest message either side accepts: step contexts carry whole conversations.
    static let maxMessageBytes = 64 * 1024 * 1024

    static func encode(_ value: some Encodable) throws -> Data {
        try KeelJSON.encoder.encode(value)
    }

    /// Decodes a request payload; a payload that does not decode is the caller's fault
    /// (`invalidArgument`). The message names the field, never its contents.
    static func decodeRequest<T: Decodable>(_ type: T.Type, from data: Data, field: String) throws -> T {
        do {
            return try KeelJSON.decoder.decode(type, from: data)
        } catch {
            throw RPCError(code: .invalidArgument, message: "\(field) is not valid KeelJSON for \(T.self)")
        }
    }

    static func lease(_ lease: StepLease) -> Keel_Worker_V1_Lease {
        var message = Keel_Worker_V1_Lease()
        message.taskID = lease.taskID
        message.workerID = lease.workerID
        return message
    }

    /// The lease of a request; a missing or empty lease is `invalidArgument`.
    static func lease(_ message: Keel_Worker_V1_Lease, present: Bool) throws -> StepLease {
        guard present, !message.taskID.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "lease.task_id is required")
        }
        return StepLease(taskID: message.taskID, workerID: message.workerID)
    }

    static func notification(_ notification: StepNotification) -> Keel_Worker_V1_Notification {
        var message = Keel_Worker_V1_Notification()
        switch notification {
        case .stepsAvailable:
            message.stepsAvailable = Keel_Worker_V1_Notification.StepsAvailable()
        case .turnCancelled(let turnID):
            var cancelled = Keel_Worker_V1_Notification.TurnCancelled()
            cancelled.turnID = turnID
            message.turnCancelled = cancelled
        }
        return message
    }

    /// `nil` for a notification kind this worker does not know (a newer control plane).
    static func notification(_ message: Keel_Worker_V1_Notification) -> StepNotification? {
        switch message.kind {
        case .stepsAvailable: .stepsAvailable
        case .turnCancelled(let cancelled): .turnCancelled(turnID: cancelled.turnID)
        case nil: nil
        }
    }
}
