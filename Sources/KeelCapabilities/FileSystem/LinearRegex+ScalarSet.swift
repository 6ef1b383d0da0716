extension LinearRegex {
    /// The shorthand classes `\d \w \s` (ASCII definitions, documented on `LinearRegex`).
    enum Shorthand: Sendable, Hashable {
        case digit, word, space

        func contains(_ value: UInt32) -> Bool {
            switch self {
            case .digit: (0x30...0x39).contains(value)
            case .word: (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) || value == 0x5F
            case .space: value == 0x20 || (0x09...0x0D).contains(value)
            }
        }
    }

    /// A character class: ranges and shorthands, possibly negated. ASCII membership is precomputed
    /// into a 128-bit map so the common case is two shifts.
    struct ScalarSet: Sendable, Hashable {
        private(set) var ranges: [ClosedRange<UInt32>] = []
        private(set) var shorthands: [Shorthand] = []
        private(set) var negatedShorthands: [Shorthand] = []
        var negated = false
        private var asciiLow: UInt64 = 0
        private var asciiHigh: UInt64 = 0

        init() {}

        init(_ shorthand: Shorthand, negated: Bool) {
            add(shorthand, negated: negated)
            finish()
        }

        mutating func add(_ range: ClosedRange<UInt32>) { ranges.append(range) }

        mutating func add(_ shorthand: Shorthand, negated: Bool) {
            if negated { negatedShorthands.append(shorthand) } else { shorthands.append(shorthand) }
        }

        /// Computes the ASCII map; call once the members are all added.
        mutating func finish() {
            asciiLow = 0
            asciiHigh = 0
            for value in UInt32(0)..<128 where slowContains(value) {
                if value < 64 { asciiLow |= 1 << UInt64(value) } else { asciiHigh |= 1 << UInt64(value - 64) }
            }
        }

        func contains(_ value: UInt32) -> Bool {
            if value < 64 { return asciiLow & (1 << UInt64(value)) != 0 }
            if value < 128 { return asciiHigh & (1 << UInt64(value - 64)) != 0 }
            return slowContains(value)
        }

        private func slowContains(_ value: UInt32) -> Bool {
            let member = ranges.contains { $0.contains(value) }
                || shorthands.contains { $0.contains(value) }
                || negatedShorthands.contains { !$0.contains(value) }
            return member != negated
        }
    }
}

extension LinearRegex {
    /// Simple case folding: the scalar's lowercase mapping when that is a single scalar.
    @inline(__always)
    static func fold(_ value: UInt32) -> UInt32 {
        if value < 128 { return (0x41...0x5A).contains(value) ? value + 0x20 : value }
        guard let scalar = Unicode.Scalar(value) else { return value }
        let lower = scalar.properties.lowercaseMapping.unicodeScalars
        return lower.count == 1 ? lower.first?.value ?? value : value
    }

    /// The scalar's uppercase mapping when that is a single scalar (for case-insensitive classes).
    static func upper(_ value: UInt32) -> UInt32 {
        if value < 128 { return (0x61...0x7A).contains(value) ? value - 0x20 : value }
        guard let scalar = Unicode.Scalar(value) else { return value }
        let upper = scalar.properties.uppercaseMapping.unicodeScalars
        return upper.count == 1 ? upper.first?.value ?? value : value
    }
}
