package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
)

func TestAppendBatchIsTheRequest(t *testing.T) {
	steps := []BatchStep{
		{ID: "1", Method: "POST", URL: "/users/ann%40contoso.com/mailFolders/AQ%3D%3D/messages",
			Headers: map[string]string{"Content-Type": "application/json", "Prefer": `IdType="ImmutableId"`}, Body: []byte(`{"subject":"a \"b\""}`)},
		{ID: "2", Method: "GET", URL: "/users/x/mailFolders/inbox"},
	}
	var got struct {
		Requests []struct {
			ID, Method, URL string
			Headers         map[string]string
			Body            json.RawMessage
		}
	}
	data := AppendBatch(nil, steps)
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if len(got.Requests) != 2 || got.Requests[0].Headers["Prefer"] != `IdType="ImmutableId"` || string(got.Requests[0].Body) != string(steps[0].Body) ||
		got.Requests[1].Body != nil || got.Requests[1].URL != "/users/x/mailFolders/inbox" || got.Requests[0].ID != "1" {
		t.Errorf("decoded %+v from %s", got, data)
	}
}

func TestParseBatchAnswers(t *testing.T) {
	body := `{"@odata.etag":"W/\"x\"","body":{"content":"<p>\"quoted\" \\ } ] {"},"id":"AAMk\u002Fid=","toRecipients":[{"a":[1,2.5e3,true,null]}]}`
	data := []byte(` {"responses": [
		{"id":"2","status":429,"headers":{"Retry-After":"3","Content-Type":"application/json"},"body":{"error":{"code":"ApplicationThrottled","message":"over"}}},
		{"status":201,"id":"1","headers":{"retry-after":7},"body":` + body + `},
		{"id":"3","status":204}
	], "nextLink": null} `)
	got, err := ParseBatchAnswers(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != "2" || got[0].Status != 429 || got[0].Header("retry-after") != "3" ||
		got[1].ID != "1" || got[1].Status != 201 || string(got[1].Body) != body || got[1].Header("Retry-After") != "" ||
		got[2].Body != nil || got[2].Status != 204 {
		t.Fatalf("%+v", got)
	}
	if id, err := BodyID(got[1].Body); err != nil || id != "AAMk/id=" {
		t.Errorf("BodyID = %q, %v", id, err)
	}
	for _, bad := range []string{``, `[]`, `{"responses":{}}`, `{"value":[]}`, `{"responses":[{"id":"1"}]}`, `{"responses":[{"id":1,"status":201}]}`,
		`{"responses":[{"id":"1","status":"201"}]}`, `{"responses":[{"id":"1","status":201.5}]}`, `{"responses":[{"id":"1","status":201,"body":{"a":}}]}`,
		`{"responses":[{"id":"1","status":201,"body":"unterminated}]}`, `{"responses":[]} x`, `<html>`} {
		if _, err := ParseBatchAnswers([]byte(bad)); !errors.Is(err, ErrBatchAnswer) {
			t.Errorf("ParseBatchAnswers(%q) = %v, want ErrBatchAnswer", bad, err)
		}
	}
}

// referenceAnswers reads a $batch answer with encoding/json's tokenizer,
// with ParseBatchAnswers's rules: the last of a repeated member counts, an
// id is a string, a status a whole number, headers keep string values.
func referenceAnswers(data []byte) ([]BatchAnswer, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	bad := errors.New("bad")
	delim := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); !ok || d != want {
			return bad
		}
		return nil
	}
	key := func() (string, error) {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		k, ok := tok.(string)
		if !ok {
			return "", bad
		}
		return k, nil
	}
	raw := func() (json.RawMessage, error) {
		var r json.RawMessage
		err := dec.Decode(&r)
		return r, err
	}
	if err := delim('{'); err != nil {
		return nil, err
	}
	var out []BatchAnswer
	found := false
	for dec.More() {
		k, err := key()
		if err != nil {
			return nil, err
		}
		if k != "responses" {
			if _, err := raw(); err != nil {
				return nil, err
			}
			continue
		}
		found, out = true, nil
		if err := delim('['); err != nil {
			return nil, err
		}
		for dec.More() {
			if err := delim('{'); err != nil {
				return nil, err
			}
			var a BatchAnswer
			var idSeen, statusSeen bool
			for dec.More() {
				k, err := key()
				if err != nil {
					return nil, err
				}
				r, err := raw()
				if err != nil {
					return nil, err
				}
				switch k {
				case "id":
					if r[0] != '"' || json.Unmarshal(r, &a.ID) != nil {
						return nil, bad
					}
					idSeen = true
				case "status":
					n, err := strconv.Atoi(string(r))
					if err != nil {
						return nil, bad
					}
					a.Status, statusSeen = n, true
				case "headers":
					var m map[string]json.RawMessage
					if json.Unmarshal(r, &m) != nil || r[0] != '{' {
						return nil, bad
					}
					a.Headers = map[string]string{}
					for hk, hv := range m {
						var s string
						if hv[0] == '"' && json.Unmarshal(hv, &s) == nil {
							a.Headers[hk] = s
						}
					}
				case "body":
					a.Body = r
				}
			}
			if err := delim('}'); err != nil {
				return nil, err
			}
			if !idSeen || !statusSeen {
				return nil, bad
			}
			out = append(out, a)
		}
		if err := delim(']'); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, bad
	}
	return out, nil
}

func FuzzParseBatchAnswers(f *testing.F) {
	f.Add([]byte(`{"responses":[{"id":"1","status":201,"headers":{"A":"b"},"body":{"id":"x","b":[1,{"c":"\""}]}}]}`))
	f.Add([]byte(`{"responses":[{"id":"1","status":429,"headers":{"Retry-After":"2","x":1,"x":"y"}},{"id":"2","status":201,"body":"aGk="}],"responses":[]}`))
	f.Add([]byte(`{"responses":[{"id":"\u00e9\\","status":-0,"body":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseBatchAnswers(data)
		if !json.Valid(data) {
			return // only: no panic
		}
		want, werr := referenceAnswers(data)
		if (err == nil) != (werr == nil) {
			t.Fatalf("ParseBatchAnswers(%q): err %v, reference %v", data, err, werr)
		}
		if err != nil {
			return
		}
		for i := range got {
			if got[i].Headers == nil {
				got[i].Headers = nil
			}
			if len(got[i].Body) == 0 {
				got[i].Body = nil
			}
		}
		for i := range want {
			if len(want[i].Body) == 0 {
				want[i].Body = nil
			}
		}
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("ParseBatchAnswers(%q) =\n%+v\nreference\n%+v", data, got, want)
		}
		for _, a := range got {
			if len(a.Body) == 0 || a.Body[0] != '{' {
				continue
			}
			id, err := BodyID(a.Body)
			var m map[string]json.RawMessage
			if json.Unmarshal(a.Body, &m) != nil {
				continue
			}
			var wantID string
			if r, ok := m["id"]; ok && (r[0] != '"' || json.Unmarshal(r, &wantID) != nil) {
				if err == nil {
					t.Fatalf("BodyID(%s) = %q, want an error for a non-string id", a.Body, id)
				}
				continue
			}
			if err != nil || id != wantID {
				t.Fatalf("BodyID(%s) = %q, %v; want %q", a.Body, id, err, wantID)
			}
		}
	})
}
