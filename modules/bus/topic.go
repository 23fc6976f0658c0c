package bus

import "strings"

// TopicMatch reports whether routingKey matches pattern with AMQP topic
// semantics: words are separated by '.', '*' matches exactly one word and
// '#' matches zero or more words.
func TopicMatch(pattern, routingKey string) bool {
	return matchWords(strings.Split(pattern, "."), strings.Split(routingKey, "."))
}

func matchWords(p, k []string) bool {
	for len(p) > 0 {
		switch p[0] {
		case "#":
			// Collapse runs of '#', then try every split point.
			for len(p) > 0 && p[0] == "#" {
				p = p[1:]
			}
			if len(p) == 0 {
				return true
			}
			for i := 0; i <= len(k); i++ {
				if matchWords(p, k[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(k) == 0 {
				return false
			}
		default:
			if len(k) == 0 || k[0] != p[0] {
				return false
			}
		}
		p, k = p[1:], k[1:]
	}
	return len(k) == 0
}
