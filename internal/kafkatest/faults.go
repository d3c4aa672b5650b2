package kafkatest

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// RefuseProduce makes the broker answer every Produce request with a
// non-retryable error (TOPIC_AUTHORIZATION_FAILED) while refusing holds, and
// reports each refusal on refused without blocking (nil: not reported).
// Recent produce requests name topics by id, so this does not pick a topic:
// a test using it writes to one topic at a time.
func (c *Cluster) RefuseProduce(refusing *atomic.Bool, refused chan<- struct{}) {
	c.Fake.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.Fake.KeepControl()
		if !refusing.Load() {
			return nil, nil, false
		}
		pr := req.(*kmsg.ProduceRequest)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range pr.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		select {
		case refused <- struct{}{}:
		default:
		}
		return resp, nil, true
	})
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a process the test starts to listen on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
