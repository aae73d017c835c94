// Package pluginhost runs a backend plugin binary the way Grafana does
// (hashicorp/go-plugin, protocol 2, the datasource magic cookie, gRPC) and, for
// browser tests, serves the two Grafana HTTP APIs a data source frontend uses
// (/api/ds/query and /api/datasources/uid/<uid>/resources/...) from it. Grafana's
// own server cannot run here; this is the part of it our plugin talks to.
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Plugin is a running plugin process with its gRPC clients.
type Plugin struct {
	client      *goplugin.Client
	Diagnostics pluginv2.DiagnosticsClient
	Data        pluginv2.DataClient
	Resource    pluginv2.ResourceClient
}

// grpcClientPlugin is the host side of one of the SDK's plugin services: it
// hands out the raw pluginv2 client, as Grafana's plugin manager does.
type grpcClientPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	client func(*grpc.ClientConn) any
}

func (p *grpcClientPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("pluginhost: host side only")
}

func (p *grpcClientPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return p.client(c), nil
}

// Start launches binary and completes the handshake; logs go to logs (may be nil).
func Start(binary string, logs io.Writer) (*Plugin, error) {
	if logs == nil {
		logs = io.Discard
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcClientPlugin{client: func(c *grpc.ClientConn) any { return pluginv2.NewDiagnosticsClient(c) }},
			"data":        &grpcClientPlugin{client: func(c *grpc.ClientConn) any { return pluginv2.NewDataClient(c) }},
			"resource":    &grpcClientPlugin{client: func(c *grpc.ClientConn) any { return pluginv2.NewResourceClient(c) }},
		}},
		Cmd:              exec.Command(binary),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		SyncStdout:       logs,
		SyncStderr:       logs,
		// The plugin's own log lines come through this logger: keep warnings.
		Logger:       hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Warn, Output: logs}),
		StartTimeout: 30 * time.Second,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("pluginhost: start %s: %w", binary, err)
	}
	if v := client.NegotiatedVersion(); v != grpcplugin.ProtocolVersion {
		client.Kill()
		return nil, fmt.Errorf("pluginhost: negotiated protocol %d, want %d", v, grpcplugin.ProtocolVersion)
	}
	p := &Plugin{client: client}
	for name, dst := range map[string]any{"diagnostics": &p.Diagnostics, "data": &p.Data, "resource": &p.Resource} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			client.Kill()
			return nil, fmt.Errorf("pluginhost: dispense %s: %w", name, err)
		}
		switch d := dst.(type) {
		case *pluginv2.DiagnosticsClient:
			*d = raw.(pluginv2.DiagnosticsClient)
		case *pluginv2.DataClient:
			*d = raw.(pluginv2.DataClient)
		case *pluginv2.ResourceClient:
			*d = raw.(pluginv2.ResourceClient)
		}
	}
	return p, nil
}

// Kill stops the plugin process.
func (p *Plugin) Kill() { p.client.Kill() }

// Exited reports whether the plugin process has exited.
func (p *Plugin) Exited() bool { return p.client.Exited() }
