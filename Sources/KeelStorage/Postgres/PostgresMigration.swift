/// One schema change: statements run in order, in one transaction, recorded in `module_migrations`
/// under its set's module and its version. Never edit a migration that has shipped; append a new
/// version instead.
public struct PostgresMigration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]
    /// The version this migration was recorded under in `schema_migrations`, the single list that
    /// releases before per-module tracks kept for every module; nil for migrations added since.
    /// A database migrated by such a release has its recorded versions carried over, so nothing runs twice.
    public let legacyVersion: Int?

    public init(version: Int, name: String, legacyVersion: Int? = nil, statements: [String]) {
        self.version = version
        self.name = name
        self.legacyVersion = legacyVersion
        self.statements = statements
    }
}

/// The migrations of one module, versioned on a track of their own (1, 2, 3 … per module), so each
/// module owns the DDL of its tables. `PostgresStore` applies its own set (`.storage`) first, then the
/// sets it is given, in order: a later set's tables may reference an earlier set's.
public struct PostgresMigrationSet: Sendable {
    /// The track's name in `module_migrations` ("storage", "durable"); unique per database.
    public let module: String
    public let migrations: [PostgresMigration]

    public init(module: String, migrations: [PostgresMigration]) {
        self.module = module
        self.migrations = migrations
    }
}
