package sim_test

import (
	"fmt"
	"sync"
	"testing"

	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

// TestConcurrentClients hammers one simulator from many goroutines (run
// with -race): every create succeeds exactly once, no state is lost.
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{Nodes: 3})
	root := token(p.root)
	const workers, per = 8, 6
	var wg sync.WaitGroup
	conflicts := make(chan int, workers*per)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				// everybody races for the same group; each creates its own user
				r := p.do("POST", "/access/groups", vals("groupid", fmt.Sprintf("g%d", i)), root)
				if r.Status != 200 {
					conflicts <- r.Status
				}
				uid := fmt.Sprintf("u%d-%d@pve", w, i)
				p.ok(p.do("POST", "/access/users", vals("userid", uid), root))
				p.ok(p.do("PUT", "/access/users/"+uid, vals("groups", fmt.Sprintf("g%d", i), "append", "1"), root))
				p.ok(p.do("GET", "/access/groups/"+fmt.Sprintf("g%d", i), nil, root))
				base := p.s.NodeURL(w%3 + 1)
				p.ok(p.doURL(base, "GET", "/access/users", nil, root))
			}
		}(w)
	}
	wg.Wait()
	close(conflicts)
	n := 0
	for st := range conflicts {
		if st != 500 {
			t.Errorf("losing create answered %d, want 500 already exists", st)
		}
		n++
	}
	if n != (workers-1)*per {
		t.Fatalf("%d creates lost the race, want %d", n, (workers-1)*per)
	}
	gs := p.s.Groups()
	if len(gs) != per {
		t.Fatalf("groups %v", gs)
	}
	for _, g := range gs {
		if len(g.Members) != workers {
			t.Fatalf("group %s members %v", g.GroupID, g.Members)
		}
	}
	if len(p.s.Users()) != 1+workers*per {
		t.Fatalf("users %d", len(p.s.Users()))
	}
}
