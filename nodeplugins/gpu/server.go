package gpu

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// resourceServer is the kubelet's device-plugin service for one resource. The kubelet API
// ties a socket to one resource name, so the plugin runs two, both over the same Manager.
type resourceServer struct {
	pluginapi.UnimplementedDevicePluginServer
	resource Resource
	mgr      *Manager
	response ResponseOptions
	// placements reads the scheduler extender's card choices; nil without an API server.
	placements *Placements
	log        *slog.Logger
	// done ends ListAndWatch streams when the server is stopped for a re-registration.
	done <-chan struct{}
}

var _ pluginapi.DevicePluginServer = (*resourceServer)(nil)

func (s *resourceServer) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{GetPreferredAllocationAvailable: true}, nil
}

// ListAndWatch sends every unit with its card's health, then again after each health change.
func (s *resourceServer) ListAndWatch(_ *pluginapi.Empty, stream grpc.ServerStreamingServer[pluginapi.ListAndWatchResponse]) error {
	changed, stop := s.mgr.Watch()
	defer stop()
	for {
		if err := stream.Send(&pluginapi.ListAndWatchResponse{Devices: s.mgr.Devices(s.resource)}); err != nil {
			return err
		}
		select {
		case <-changed:
		case <-s.done:
			return nil
		case <-stream.Context().Done():
			return nil
		}
	}
}

func (s *resourceServer) GetPreferredAllocation(ctx context.Context, req *pluginapi.PreferredAllocationRequest) (*pluginapi.PreferredAllocationResponse, error) {
	resp := &pluginapi.PreferredAllocationResponse{}
	for _, cr := range req.ContainerRequests {
		pl, err := s.placements.Lookup(ctx, s.resource, int(cr.AllocationSize))
		if err == nil {
			var ids []string
			ids, err = s.mgr.PreferredPlaced(s.resource, cr.AvailableDeviceIDs, cr.MustIncludeDeviceIDs, int(cr.AllocationSize), pl)
			resp.ContainerResponses = append(resp.ContainerResponses, &pluginapi.ContainerPreferredAllocationResponse{DeviceIDs: ids})
		}
		if err != nil {
			s.log.Warn("no preferred allocation", "resource", s.resource, "units", cr.AllocationSize, "err", err)
			return nil, err
		}
	}
	return resp, nil
}

func (s *resourceServer) Allocate(ctx context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	resp := &pluginapi.AllocateResponse{}
	for _, cr := range req.ContainerRequests {
		cresp, pl, err := s.allocateOne(ctx, cr.DevicesIds)
		if err != nil {
			s.log.Warn("allocation refused", "resource", s.resource, "units", len(cr.DevicesIds), "err", err)
			return nil, err
		}
		if pl != nil {
			s.placements.Placed(ctx, *pl, s.resource)
		}
		resp.ContainerResponses = append(resp.ContainerResponses, cresp)
	}
	return resp, nil
}

// allocateOne answers for one container, on the scheduler extender's cards when it chose
// them, and says which choice it followed.
func (s *resourceServer) allocateOne(ctx context.Context, ids []string) (*pluginapi.ContainerAllocateResponse, *Placement, error) {
	pl, err := s.placements.Lookup(ctx, s.resource, len(ids))
	if err != nil {
		return nil, nil, err
	}
	g, err := s.mgr.AllocatePlaced(s.resource, ids, pl)
	if err != nil {
		return nil, nil, err
	}
	cresp, err := s.response.ContainerResponse(g)
	if err != nil {
		return nil, nil, err
	}
	return cresp, pl, nil
}

// PreStartContainer is not requested (PreStartRequired is false); it answers for kubelets
// that call it anyway.
func (s *resourceServer) PreStartContainer(context.Context, *pluginapi.PreStartContainerRequest) (*pluginapi.PreStartContainerResponse, error) {
	return &pluginapi.PreStartContainerResponse{}, nil
}
