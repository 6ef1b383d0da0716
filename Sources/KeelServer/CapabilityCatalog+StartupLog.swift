import KeelCapabilities
import Logging

extension CapabilityCatalog {
    /// One start-up line per capability this host cannot offer (such as `python` without a
    /// working bubblewrap sandbox), so the operator learns why agents cannot use it.
    func logUnavailable(_ logger: Logger) {
        for (id, reason) in unavailable.sorted(by: { $0.key < $1.key }) {
            logger.warning("capability '\(id)' is unavailable on this host and not offered: \(reason)")
        }
    }
}
