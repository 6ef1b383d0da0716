/// KeelWorkerRPC — the worker protocol over gRPC.
///
/// The control plane implements `StepChannel` in-process; `WorkerRPCServer` exposes it to remote
/// workers (service `keel.worker.v1.WorkerService`, Protos/keel/worker/v1/worker.proto), and
/// `GRPCStepChannel` gives a `keel worker` process a `StepChannel` backed by that service.
///
/// The code in `Generated/` comes from `scripts/generate-grpc` and has package visibility: the
/// generated types are not part of this module's public API.
enum KeelWorkerRPCModule {}
