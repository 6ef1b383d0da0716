import PostgresNIO

/// What PostgreSQL errors say: the SQLSTATE to branch on, and a readable description for logs.
extension PostgresStore {
    package static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A readable description of an error; for server errors the SQLSTATE and message (PSQLError's own
    /// description deliberately says nothing).
    package static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return String(describing: error) }
        if let info = error.serverInfo {
            var text = "\(info[.sqlState] ?? "?????"): \(info[.message] ?? "server error")"
            if let detail = info[.detail] { text += " (\(detail))" }
            return text
        }
        return String(reflecting: error)
    }
}
