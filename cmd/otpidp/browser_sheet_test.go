package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"sort"
)

// A contact sheet tiles every page of one language at one size (each page light, then dark)
// in one PNG, so that a reviewer sees the whole flow at a glance: contact-en-phone.png,
// contact-es-desktop.png, … beside the screenshots.

// sheetTile is one screenshot, shrunk, on a sheet.
type sheetTile struct {
	img *image.RGBA
	err error
}

// sheetColumns is how many tiles a sheet row holds.
const sheetColumns = 8

// writeContactSheets writes one sheet per key of shots ("en-phone") into dir and returns
// their file names.
func writeContactSheets(dir string, shots map[string][]*sheetTile) ([]string, error) {
	keys := make([]string, 0, len(shots))
	for k := range shots {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var names []string
	for _, k := range keys {
		name := "contact-" + k + ".png"
		if err := writeContactSheet(filepath.Join(dir, name), shots[k]); err != nil {
			return names, fmt.Errorf("%s: %w", name, err)
		}
		names = append(names, name)
	}
	return names, nil
}

func writeContactSheet(path string, tiles []*sheetTile) error {
	if len(tiles) == 0 {
		return nil
	}
	tw, th := 0, 0
	for _, t := range tiles {
		if t.err != nil {
			return t.err
		}
		tw, th = max(tw, t.img.Bounds().Dx()), max(th, t.img.Bounds().Dy())
	}
	const gap = 8
	cols := min(sheetColumns, len(tiles))
	rows := (len(tiles) + cols - 1) / cols
	sheet := image.NewRGBA(image.Rect(0, 0, cols*(tw+gap)+gap, rows*(th+gap)+gap))
	draw.Draw(sheet, sheet.Bounds(), &image.Uniform{color.RGBA{0x80, 0x80, 0x80, 0xff}}, image.Point{}, draw.Src)
	for i, t := range tiles {
		at := image.Pt(gap+(i%cols)*(tw+gap), gap+(i/cols)*(th+gap))
		draw.Draw(sheet, t.img.Bounds().Add(at), t.img, image.Point{}, draw.Src)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, sheet); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shrunk decodes a PNG screenshot and averages factor×factor pixel blocks (a box filter).
func shrunk(b []byte, factor int) (*image.RGBA, error) {
	src, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	rgba, ok := src.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(src.Bounds())
		draw.Draw(rgba, rgba.Bounds(), src, src.Bounds().Min, draw.Src)
	}
	sb := rgba.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, sb.Dx()/factor, sb.Dy()/factor))
	for y := 0; y < dst.Rect.Dy(); y++ {
		for x := 0; x < dst.Rect.Dx(); x++ {
			var sum [3]int
			for dy := 0; dy < factor; dy++ {
				row := rgba.Pix[(y*factor+dy)*rgba.Stride:]
				for dx := 0; dx < factor; dx++ {
					px := row[(x*factor+dx)*4:]
					sum[0], sum[1], sum[2] = sum[0]+int(px[0]), sum[1]+int(px[1]), sum[2]+int(px[2])
				}
			}
			n := factor * factor
			dst.SetRGBA(x, y, color.RGBA{uint8(sum[0] / n), uint8(sum[1] / n), uint8(sum[2] / n), 0xff})
		}
	}
	return dst, nil
}
