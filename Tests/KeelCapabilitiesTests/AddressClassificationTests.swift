import Testing
@testable import KeelCapabilities

@Suite("AddressClassification")
struct AddressClassificationTests {
    @Test("non-public addresses are blocked", arguments: [
        "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "0.0.0.0", "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "febf::1", "fc00::1",
        "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:192.168.0.1", "64:ff9b::a00:1", "2002:c0a8:101::1",
        "ff02::1",
    ])
    func blocked(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(AddressClassification.blockReason(address) != nil, "\(text) should be blocked")
    }

    @Test("public addresses are allowed", arguments: [
        "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
        "2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808",
    ])
    func allowed(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(AddressClassification.blockReason(address) == nil, "\(text) should be allowed")
    }

    @Test("reasons name the range")
    func reasons() throws {
        #expect(AddressClassification.blockReason(try #require(IPAddress("127.0.0.1")))?.contains("loopback") == true)
        #expect(AddressClassification.blockReason(try #require(IPAddress("::ffff:192.168.0.1")))?.contains("IPv4-mapped private") == true)
        #expect(AddressClassification.blockReason(try #require(IPAddress("fd00::1")))?.contains("unique-local") == true)
    }

    @Test("addresses print in their usual notation")
    func description() throws {
        #expect(try #require(IPAddress("10.0.0.1")).description == "10.0.0.1")
        #expect(try #require(IPAddress("0:0:0:0:0:0:0:1")).description == "::1")
        #expect(IPAddress("example.com") == nil)
    }

    @Test("the resolver returns loopback for localhost")
    func resolveLocalhost() async throws {
        let addresses = try await HostResolver.resolve("localhost")
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { AddressClassification.blockReason($0) != nil })
    }
}
