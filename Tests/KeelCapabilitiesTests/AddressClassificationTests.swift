import Foundation
import Testing
@testable import KeelCapabilities

@Suite("AddressClassification")
struct AddressClassificationTests {
    @Test("non-public addresses are blocked", arguments: [
        "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "0.0.0.0", "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "febf::1", "fc00::1",
        "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:192.168.0.1", "64:ff9b::a00:1", "2002:c0a8:101::1",
        "ff02::1",
        // IANA special-purpose ranges that used to pass (issue 8, item 9).
        "192.0.2.1", "198.51.100.7", "203.0.113.9", "192.0.0.9", "192.31.196.1", "192.52.193.1", "192.88.99.1",
        "192.175.48.1", "198.18.0.1", "198.19.255.255", "2001::1", "2001:2::1", "2001:10::1", "2001:20::1", "2001:1ff:ffff::1",
        "2001:db8::1", "2001:db8:ffff::1", "64:ff9b:1::1", "64:ff9b:1:ffff::808:808", "64:ff9b::7f00:1", "64:ff9b::c000:201",
        "2002:cb00:7101::1", "::ffff:203.0.113.1", "100::1", "3fff::1", "3fff:fff::1", "5f00::1",
    ])
    func blocked(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(AddressClassification.blockReason(address) != nil, "\(text) should be blocked")
    }

    @Test("public addresses are allowed", arguments: [
        "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
        "2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808",
        // Just outside the special ranges above.
        "192.0.3.1", "192.0.1.255", "198.51.101.1", "203.0.114.1", "192.31.197.1", "192.175.49.1", "198.20.0.1",
        "2001:200::1", "2001:db9::1", "2002:808:808::1", "3fff:1000::1", "64:ff9b:2::1",
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

    @Test("documentation ranges name their purpose")
    func documentationReasons() throws {
        for text in ["192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1"] {
            #expect(AddressClassification.blockReason(try #require(IPAddress(text)))?.contains("documentation") == true, "\(text)")
        }
    }

    @Test("the host's own interface addresses are refused, whatever their range")
    func ownInterfaceAddressesRefused() async throws {
        let own = try #require(IPAddress("8.8.4.4"))
        let policy = FetchTargetPolicy(allowPrivateAddresses: false, resolve: { _ in [own] }, localAddresses: { [own] })
        let message = await TestSupport.toolErrorMessage { _ = try await policy.check(url: try #require(URL(string: "http://me.example/"))) }
        #expect(message?.contains("this host's own address") == true, "got \(message ?? "nil")")

        let elsewhere = FetchTargetPolicy(allowPrivateAddresses: false, resolve: { _ in [own] }, localAddresses: { [] })
        #expect(try await elsewhere.check(url: try #require(URL(string: "http://me.example/"))) == [own])
    }

    @Test("the host's interface addresses are read from the system")
    func interfaceAddressesListed() throws {
        #expect(LocalInterfaceAddresses.current().contains(try #require(IPAddress("127.0.0.1"))))
    }

    @Test("the policy returns every checked address and refuses when any one is non-public")
    func policyReturnsCheckedAddresses() async throws {
        let url = try #require(URL(string: "https://two.example/"))
        let publicPair = [try #require(IPAddress("8.8.8.8")), try #require(IPAddress("2001:4860:4860::8888"))]
        let policy = FetchTargetPolicy(allowPrivateAddresses: false, resolve: { _ in publicPair }, localAddresses: { [] })
        #expect(try await policy.check(url: url) == publicPair)

        let mixed = [try #require(IPAddress("8.8.8.8")), try #require(IPAddress("203.0.113.5"))]
        let refusing = FetchTargetPolicy(allowPrivateAddresses: false, resolve: { _ in mixed }, localAddresses: { [] })
        let message = await TestSupport.toolErrorMessage { _ = try await refusing.check(url: url) }
        #expect(message?.contains("203.0.113.5, a documentation (203.0.113.0/24) address") == true, "got \(message ?? "nil")")
    }

    @Test("the resolver returns loopback for localhost")
    func resolveLocalhost() async throws {
        let addresses = try await HostResolver.resolve("localhost")
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { AddressClassification.blockReason($0) != nil })
    }
}
