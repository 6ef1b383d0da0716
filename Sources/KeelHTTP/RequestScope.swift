import Hummingbird
import KeelCore

/// Who a request acts for. There is one organization until authentication arrives; every
/// controller asks here, so that issue has one place to change.
enum RequestScope {
    static func organizationID(_ request: Request) -> String {
        BuiltIn.organizationID
    }
}
