import GRPCNIOTransportHTTP2

/// TLS for the worker protocol, so provider keys (step contexts carry them) and conversations
/// need not cross a network in clear. Both sides read PEM files.
public enum WorkerRPCTLS {
    /// The control plane's side (`WORKER_GRPC_TLS_CERT_FILE`, `WORKER_GRPC_TLS_KEY_FILE`).
    public struct Server: Sendable, Hashable {
        /// PEM certificate chain, leaf first.
        public var certificateChainFile: String
        /// PEM private key of the leaf certificate.
        public var privateKeyFile: String

        public init(certificateChainFile: String, privateKeyFile: String) {
            self.certificateChainFile = certificateChainFile
            self.privateKeyFile = privateKeyFile
        }

        var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
            .tls(
                certificateChain: [.file(path: certificateChainFile, format: .pem)],
                privateKey: .file(path: privateKeyFile, format: .pem))
        }
    }

    /// A worker's side (`WORKER_GRPC_TLS_CA_FILE`, `WORKER_GRPC_TLS_SERVER_NAME`): the server's
    /// certificate must chain to `trustRootsFile` and name the host the worker connects to, or
    /// `serverName` when set (for a certificate issued to a name the worker does not dial).
    public struct Client: Sendable, Hashable {
        /// PEM certificates the server's certificate must chain to.
        public var trustRootsFile: String
        /// The name to send as SNI and to verify the certificate against; default: the host.
        public var serverName: String?

        public init(trustRootsFile: String, serverName: String? = nil) {
            self.trustRootsFile = trustRootsFile
            self.serverName = serverName.flatMap { $0.isEmpty ? nil : $0 }
        }

        var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
            .tls { config in
                config.trustRoots = .certificates([.file(path: trustRootsFile, format: .pem)])
                config.serverCertificateVerification = .fullVerification
            }
        }
    }
}
