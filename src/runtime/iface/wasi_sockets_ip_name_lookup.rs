//! `wasi:sockets/ip-name-lookup`: `resolve` decided on the name, then wasmtime-wasi's lookup.
//! The addresses that a granted lookup returns are remembered for the name-bound rule
//! (`net/wasi.rs`), so that a connect to one of them is decided as the name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, Host, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, IpAddress, Network};

use crate::policy::{NetAction, Request};
use crate::runtime::net::wasi::{HasWasiNet, WasiNetView};
use crate::runtime::state::InstanceState;

const OP: &str = "wasi:sockets/ip-name-lookup.resolve-addresses";

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    ip_name_lookup::add_to_linker::<InstanceState, HasWasiNet>(linker, InstanceState::wasi_net_view)
}

fn std_ip(address: IpAddress) -> IpAddr {
    match address {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
    }
}

impl network::Host for WasiNetView<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        network::Host::convert_error_code(&mut self.wasmtime(), error)
    }

    fn network_error_code(&mut self, err: Resource<network::Error>) -> wasmtime::Result<Option<ErrorCode>> {
        network::Host::network_error_code(&mut self.wasmtime(), err)
    }
}

impl network::HostNetwork for WasiNetView<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.wasmtime(), this)
    }
}

impl Host for WasiNetView<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        let request = Request::Net {
            action: NetAction::Resolve,
            host: Some(&name),
            port: None,
        };
        let grant = self
            .sockets
            .decider()
            .authorize(OP, request)
            .map_err(|_| SocketError::from(ErrorCode::AccessDenied))?;
        let stream = Host::resolve_addresses(&mut self.wasmtime(), network, name.clone())?;
        if grant.is_some() {
            self.state.lookups.insert(stream.rep(), name);
        }
        Ok(stream)
    }
}

impl HostResolveAddressStream for WasiNetView<'_> {
    fn resolve_next_address(
        &mut self,
        resource: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        let rep = resource.rep();
        let next = HostResolveAddressStream::resolve_next_address(&mut self.wasmtime(), resource)?;
        if let (Some(address), Some(name)) = (next, self.state.lookups.get(&rep)) {
            self.sockets.remember(name, std_ip(address));
        }
        Ok(next)
    }

    fn subscribe(&mut self, resource: Resource<ResolveAddressStream>) -> wasmtime::Result<Resource<DynPollable>> {
        HostResolveAddressStream::subscribe(&mut self.wasmtime(), resource)
    }

    fn drop(&mut self, resource: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.state.lookups.remove(&resource.rep());
        HostResolveAddressStream::drop(&mut self.wasmtime(), resource)
    }
}
