// A Go provider of the same shape as the test provider's `bgtest_data`, for
// bench-plan (issue 2 (b)) only: it answers the plugin protocol 6 calls that a plan
// and apply of `bgtest_data` make, built on HashiCorp's go-plugin and grpc-go, the
// stack Go providers use, so that `bench-plan --bgtest` can put our Rust provider
// beside a Go one on the same machine. It is not part of the product and has no
// tests of its own; build.sh builds it from Debian's Go packages.
package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"github.com/zclconf/go-cty/cty/msgpack"
	"google.golang.org/grpc"

	proto "bgtestgo/tfplugin6"
)

var (
	providerType = cty.Object(map[string]cty.Type{"store_dir": cty.String})
	dataType     = cty.Object(map[string]cty.Type{
		"id":               cty.String,
		"input":            cty.DynamicPseudoType,
		"output":           cty.DynamicPseudoType,
		"triggers_replace": cty.DynamicPseudoType,
	})
	nextID uint64
)

func attr(name, ty string, required, optional, computed bool) *proto.Schema_Attribute {
	return &proto.Schema_Attribute{Name: name, Type: []byte(ty), Required: required, Optional: optional, Computed: computed}
}

type server struct {
	proto.UnimplementedProviderServer
}

func capabilities() *proto.ServerCapabilities {
	return &proto.ServerCapabilities{GetProviderSchemaOptional: true}
}

func (s *server) GetMetadata(context.Context, *proto.GetMetadata_Request) (*proto.GetMetadata_Response, error) {
	return &proto.GetMetadata_Response{
		ServerCapabilities: capabilities(),
		Resources:          []*proto.GetMetadata_ResourceMetadata{{TypeName: "bgtest_data"}},
	}, nil
}

func (s *server) GetProviderSchema(context.Context, *proto.GetProviderSchema_Request) (*proto.GetProviderSchema_Response, error) {
	return &proto.GetProviderSchema_Response{
		Provider: &proto.Schema{Block: &proto.Schema_Block{Attributes: []*proto.Schema_Attribute{
			attr("store_dir", `"string"`, true, false, false),
		}}},
		ResourceSchemas: map[string]*proto.Schema{"bgtest_data": {Block: &proto.Schema_Block{Attributes: []*proto.Schema_Attribute{
			attr("id", `"string"`, false, false, true),
			attr("input", `"dynamic"`, false, true, false),
			attr("output", `"dynamic"`, false, false, true),
			attr("triggers_replace", `"dynamic"`, false, true, false),
		}}}},
		ServerCapabilities: capabilities(),
	}, nil
}

func decode(v *proto.DynamicValue, ty cty.Type) (cty.Value, error) {
	if v == nil || len(v.Msgpack) == 0 {
		return cty.NullVal(ty), nil
	}
	return msgpack.Unmarshal(v.Msgpack, ty)
}

func encode(v cty.Value, ty cty.Type) (*proto.DynamicValue, error) {
	b, err := msgpack.Marshal(v, ty)
	return &proto.DynamicValue{Msgpack: b}, err
}

func (s *server) ValidateProviderConfig(_ context.Context, r *proto.ValidateProviderConfig_Request) (*proto.ValidateProviderConfig_Response, error) {
	_, err := decode(r.Config, providerType)
	return &proto.ValidateProviderConfig_Response{}, err
}

func (s *server) ValidateResourceConfig(_ context.Context, r *proto.ValidateResourceConfig_Request) (*proto.ValidateResourceConfig_Response, error) {
	_, err := decode(r.Config, dataType)
	return &proto.ValidateResourceConfig_Response{}, err
}

func (s *server) ConfigureProvider(_ context.Context, r *proto.ConfigureProvider_Request) (*proto.ConfigureProvider_Response, error) {
	_, err := decode(r.Config, providerType)
	return &proto.ConfigureProvider_Response{}, err
}

func (s *server) UpgradeResourceState(_ context.Context, r *proto.UpgradeResourceState_Request) (*proto.UpgradeResourceState_Response, error) {
	v, err := ctyjson.Unmarshal(r.RawState.Json, dataType)
	if err != nil {
		return nil, err
	}
	out, err := encode(v, dataType)
	return &proto.UpgradeResourceState_Response{UpgradedState: out}, err
}

func (s *server) ReadResource(_ context.Context, r *proto.ReadResource_Request) (*proto.ReadResource_Response, error) {
	v, err := decode(r.CurrentState, dataType)
	if err != nil {
		return nil, err
	}
	out, err := encode(v, dataType)
	return &proto.ReadResource_Response{NewState: out, Private: r.Private}, err
}

func with(v cty.Value, name string, x cty.Value) cty.Value {
	m := v.AsValueMap()
	m[name] = x
	return cty.ObjectVal(m)
}

func (s *server) PlanResourceChange(_ context.Context, r *proto.PlanResourceChange_Request) (*proto.PlanResourceChange_Response, error) {
	prior, err := decode(r.PriorState, dataType)
	if err != nil {
		return nil, err
	}
	proposed, err := decode(r.ProposedNewState, dataType)
	if err != nil {
		return nil, err
	}
	config, err := decode(r.Config, dataType)
	if err != nil {
		return nil, err
	}
	resp := &proto.PlanResourceChange_Response{PlannedPrivate: r.PriorPrivate}
	planned := proposed
	if !proposed.IsNull() {
		input := config.GetAttr("input")
		if prior.IsNull() {
			planned = with(planned, "id", cty.UnknownVal(cty.String))
			planned = with(planned, "output", input)
		} else {
			if !prior.GetAttr("input").RawEquals(input) {
				planned = with(planned, "output", input)
			}
			if !prior.GetAttr("triggers_replace").RawEquals(config.GetAttr("triggers_replace")) {
				resp.RequiresReplace = []*proto.AttributePath{{Steps: []*proto.AttributePath_Step{
					{Selector: &proto.AttributePath_Step_AttributeName{AttributeName: "triggers_replace"}},
				}}}
			}
		}
	}
	resp.PlannedState, err = encode(planned, dataType)
	return resp, err
}

func (s *server) ApplyResourceChange(_ context.Context, r *proto.ApplyResourceChange_Request) (*proto.ApplyResourceChange_Response, error) {
	planned, err := decode(r.PlannedState, dataType)
	if err != nil {
		return nil, err
	}
	config, err := decode(r.Config, dataType)
	if err != nil {
		return nil, err
	}
	state := planned
	if !planned.IsNull() {
		if !planned.GetAttr("id").IsKnown() {
			n := atomic.AddUint64(&nextID, 1)
			state = with(state, "id", cty.StringVal(fmt.Sprintf("data-%d-%d", os.Getpid(), n)))
		}
		state = with(state, "output", config.GetAttr("input"))
	}
	out, err := encode(state, dataType)
	return &proto.ApplyResourceChange_Response{NewState: out, Private: r.PlannedPrivate}, err
}

func (s *server) StopProvider(context.Context, *proto.StopProvider_Request) (*proto.StopProvider_Response, error) {
	return &proto.StopProvider_Response{}, nil
}

type providerPlugin struct{ plugin.Plugin }

func (providerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterProviderServer(s, &server{})
	return nil
}

func (providerPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, fmt.Errorf("this program is a plugin server only")
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  6,
			MagicCookieKey:   "TF_PLUGIN_MAGIC_COOKIE",
			MagicCookieValue: "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
		},
		VersionedPlugins: map[int]plugin.PluginSet{6: {"provider": providerPlugin{}}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(256<<20))...)
		},
	})
}
