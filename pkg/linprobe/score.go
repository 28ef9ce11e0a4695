package linprobe

// Scores are a classifier's results on a labelled set.
type Scores struct {
	Top1      float64      `json:"top1"` // fraction of rows classified correctly
	Correct   int          `json:"correct"`
	Total     int          `json:"total"`
	PerClass  []ClassScore `json:"per_class"`
	Confusion [][]int      `json:"confusion"` // [true class][predicted class] counts
}

// ClassScore is the accuracy on the rows of one class.
type ClassScore struct {
	Name     string  `json:"name"`
	Correct  int     `json:"correct"`
	Total    int     `json:"total"`
	Accuracy float64 `json:"accuracy"` // 0 when the class has no rows
}

// Score compares predictions with labels; names are the classes, indexed by
// label, and every label and prediction must be below len(names).
func Score(pred, label []uint8, names []string) Scores {
	k := len(names)
	s := Scores{Total: len(label), Confusion: make([][]int, k), PerClass: make([]ClassScore, k)}
	for c := range s.Confusion {
		s.Confusion[c] = make([]int, k)
	}
	for i, l := range label {
		s.Confusion[l][pred[i]]++
	}
	for c, row := range s.Confusion {
		cs := ClassScore{Name: names[c], Correct: row[c]}
		for _, v := range row {
			cs.Total += v
		}
		if cs.Total > 0 {
			cs.Accuracy = float64(cs.Correct) / float64(cs.Total)
		}
		s.PerClass[c] = cs
		s.Correct += cs.Correct
	}
	if s.Total > 0 {
		s.Top1 = float64(s.Correct) / float64(s.Total)
	}
	return s
}
