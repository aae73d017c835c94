package rrweb

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// fastParse splits a validated JSON array of events without copying: each
// event's Raw and Data are sub-slices of data. The caller has checked
// json.Valid(data), so the scanner only tracks strings and nesting.
func fastParse(data []byte) ([]Event, error) {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, ErrNotArray
	}
	i = skipWS(data, i+1)
	events := make([]Event, 0, 64)
	if i < len(data) && data[i] == ']' {
		return events, nil
	}
	for i < len(data) {
		if data[i] != '{' {
			return nil, fmt.Errorf("rrweb event %d: not an object", len(events))
		}
		end := skipValue(data, i)
		ev, err := parseObject(data[i:end])
		if err != nil {
			return nil, fmt.Errorf("rrweb event %d: %v", len(events), err)
		}
		events = append(events, ev)
		i = skipWS(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipWS(data, i+1)
			continue
		}
		break
	}
	return events, nil
}

// parseObject reads type, timestamp and data of one event object.
func parseObject(obj []byte) (Event, error) {
	ev := Event{Raw: obj}
	hasType := false
	i := skipWS(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		kEnd := skipValue(obj, i)
		key := obj[i+1 : kEnd-1]
		i = skipWS(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return ev, errors.New("malformed object")
		}
		i = skipWS(obj, i+1)
		vEnd := skipValue(obj, i)
		val := obj[i:vEnd]
		switch string(key) {
		case "type":
			n, err := strconv.Atoi(string(val))
			if err != nil {
				return ev, fmt.Errorf("type %s is not an integer", val)
			}
			ev.Type, hasType = n, true
		case "timestamp":
			if f, err := strconv.ParseFloat(string(val), 64); err == nil {
				ev.Timestamp = int64(f)
			}
		case "data":
			ev.Data = json.RawMessage(val)
		}
		i = skipWS(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipWS(obj, i+1)
		}
	}
	if !hasType {
		return ev, errors.New("missing numeric type")
	}
	return ev, nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the (valid) JSON value starting at i.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		i++
		for i < len(b) {
			switch b[i] {
			case '\\':
				i += 2
				continue
			case '"':
				return i + 1
			}
			i++
		}
		return i
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipValue(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
			i++
		}
		return i
	}
}
