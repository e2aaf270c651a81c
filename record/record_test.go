package record

import "testing"

// TestMemoCache: an endpoint reads its memo's cache as SetMemo noted it,
// or from the memo when there was none then or the memo was changed.
func TestMemoCache(t *testing.T) {
	a, b := &EndpointMemo{}, &EndpointMemo{}
	ca, cb, ca2 := &MemoCache{Owner: 1}, &MemoCache{Owner: 2}, &MemoCache{Owner: 3}
	a.SetCache(ca)
	b.SetCache(cb)

	var e Endpoint
	if c := e.MemoCache(); c != nil {
		t.Fatalf("no memo: cache %v", c)
	}
	e.SetMemo(a)
	a.SetCache(ca2)
	if c := e.MemoCache(); c != ca {
		t.Errorf("after SetMemo: cache %v, want the one noted (%v)", c, ca)
	}
	e.Memo = b // changed without SetMemo: the noted cache is not b's
	if c := e.MemoCache(); c != cb {
		t.Errorf("memo changed: cache %v, want the new memo's (%v)", c, cb)
	}
	var f Endpoint
	f.SetMemo(&EndpointMemo{}) // no cache yet: read from the memo later
	f.Memo.SetCache(ca)
	if c := f.MemoCache(); c != ca {
		t.Errorf("noted none: cache %v, want the memo's (%v)", c, ca)
	}
	f.SetMemo(nil)
	if f.Memo != nil || f.memoOf != nil || f.memoCache != nil {
		t.Errorf("SetMemo(nil) left %+v", f)
	}
}
